"""Byte-level BPE tokenizer: text -> integer ids -> text.

A model reads integers, not text. This tokenizer turns any string into ids in
three steps, and the same steps run in the browser (a JavaScript port), so they
are spelled out exactly here.

1. Special tokens (only when `allow_special=True`). The text is split on the
   special-token strings (e.g. "<|endoftext|>"); each occurrence becomes its
   single id and the pieces between are encoded by steps 2-3. When the
   string is searched, the earliest occurrence wins, and at one position the
   longest special token. With `allow_special=False` (the default) special
   strings are ordinary text: "<|user|>" typed by a user is just characters.

2. Pre-tokenization. The text is cut into chunks by PATTERN, scanning left to
   right for the next match (Python `re.findall`, JavaScript
   `text.matchAll(new RegExp(PATTERN, "gu"))`):

       [ ]?[A-Za-z]+                 a word, with the space before it
       |[0-9]                        ONE digit: numbers are spelled digit by digit
       |[ ]?[^A-Za-z0-9\t\n\v\f\r ]+ anything else (punctuation, accents, CJK,
                                     emoji...), with the space before it
       |[\t\n\v\f\r ]+               a run of whitespace

   The four alternatives cover every character, so the chunks concatenate back
   to the text. The pattern uses only explicit ASCII classes, so it means the
   same in both regex engines; with the `u` flag JavaScript, like Python,
   steps through code points, so an emoji is never split between its two
   UTF-16 halves. Merges never cross chunk boundaries, and a digit is always
   its own chunk, so no token ever contains a digit next to anything else:
   the model copies "2023" as 2, 0, 2, 3.

3. Byte pair merges. Each chunk is encoded as UTF-8 bytes (a lone surrogate is
   first replaced by U+FFFD, as JavaScript's TextEncoder does); byte b is
   id b, so any text at all can be encoded ("byte fallback"). Then, repeatedly:
   among adjacent pairs of ids, find the pair with the lowest merge rank; if no
   pair has a rank, stop; otherwise replace every occurrence of that pair,
   scanning left to right without overlaps, by its merged id 256 + rank.

Ids: 0-255 are bytes, 256 .. 256+len(merges)-1 are merges in rank order, and the
special tokens follow. Decoding concatenates each id's bytes (a special token's
bytes are its UTF-8 name) and decodes UTF-8, replacing invalid bytes with
U+FFFD, which happens when a multi-byte character is cut between ids.

Training (`train_bpe`) counts chunks once, then repeatedly merges the most
frequent adjacent pair, counted over all chunks weighted by how often each
chunk occurs. Ties go to the pair with the smallest (left id, right id), so
training is deterministic.

JSON format (`to_json`, `save`):
    {"version": 1,
     "pattern": PATTERN,                 # the pre-tokenizer regex source
     "merges": [[a, b], ...],            # rank order; merge r makes id 256 + r
     "special_tokens": {"<|endoftext|>": id, ...},
     "vocab_size": n}
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

# The special tokens, each one id that typed text can never produce: the end of a
# document, and the chat format's markers (chat.py). Their JavaScript twin is
# tokenizer.js's SPECIAL_TOKENS; tests/test_shared_definitions.py pins the two.
EOT, USER, ASSISTANT, TOOL = "<|endoftext|>", "<|user|>", "<|assistant|>", "<|tool|>"
SPECIAL_TOKENS = [EOT, USER, ASSISTANT, TOOL]
PATTERN = r"[ ]?[A-Za-z]+|[0-9]|[ ]?[^A-Za-z0-9\t\n\v\f\r ]+|[\t\n\v\f\r ]+"
CHUNK = re.compile(PATTERN)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(chunk: str) -> bytes:
    return LONE_SURROGATE.sub("\ufffd", chunk).encode("utf-8")


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids`, left to right, by `new_id`."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class Tokenizer:
    def __init__(self, merges: list[tuple[int, int]], special_tokens: list[str] = SPECIAL_TOKENS):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.vocab = [bytes([b]) for b in range(256)]  # id -> the bytes it stands for
        for a, b in self.merges:
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.special_ids = {}
        for name in special_tokens:
            self.special_ids[name] = len(self.vocab)
            self.vocab.append(name.encode("utf-8"))
        self.vocab_size = len(self.vocab)
        self.eot_id = self.special_ids[EOT]
        # Longest first, so that at one position the longest special token wins.
        names = sorted(self.special_ids, key=len, reverse=True)
        self.special_split = re.compile("(" + "|".join(map(re.escape, names)) + ")")
        self.cache: dict[str, list[int]] = {}  # chunk -> ids; the corpus repeats words a lot

    def encode_chunk(self, chunk: str) -> list[int]:
        if chunk not in self.cache:
            ids = list(utf8(chunk))
            while len(ids) >= 2:
                pair = min(zip(ids, ids[1:]), key=lambda p: self.ranks.get(p, float("inf")))
                if pair not in self.ranks:
                    break  # no adjacent pair was ever merged in training
                ids = merge(ids, pair, 256 + self.ranks[pair])
            self.cache[chunk] = ids
        return self.cache[chunk]

    def encode(self, text: str, allow_special: bool = False) -> list[int]:
        # re.split with a capturing group keeps the special tokens at odd positions.
        parts = self.special_split.split(text) if allow_special else [text]
        ids = []
        for i, part in enumerate(parts):
            if i % 2 == 1:
                ids.append(self.special_ids[part])
            else:
                for chunk in CHUNK.findall(part):
                    ids.extend(self.encode_chunk(chunk))
        return ids

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def token_bytes(self, i: int) -> bytes:
        # a negative id would silently index from the end of the list; the JS twin rejects it too
        if not 0 <= i < len(self.vocab):
            raise ValueError(f"token id {i} is not in 0..{len(self.vocab) - 1}")
        return self.vocab[i]

    def to_json(self) -> dict:
        return {"version": 1, "pattern": PATTERN, "merges": [list(m) for m in self.merges],
                "special_tokens": self.special_ids, "vocab_size": self.vocab_size}

    @classmethod
    def from_json(cls, d: dict) -> "Tokenizer":
        if d.get("version") != 1 or d.get("pattern") != PATTERN:
            raise ValueError("tokenizer JSON was made by an incompatible version")
        specials = sorted(d["special_tokens"], key=d["special_tokens"].get)
        tok = cls(d["merges"], specials)
        assert tok.special_ids == d["special_tokens"], "special token ids must follow the merges"
        return tok

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f)

    @classmethod
    def load(cls, path) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            return cls.from_json(json.load(f))


def train_bpe(texts: list[str], vocab_size: int = 512, special_tokens=SPECIAL_TOKENS) -> Tokenizer:
    """Learn vocab_size - 256 - len(special_tokens) merges from `texts`."""
    # Work on unique chunks: a few MB of text holds only thousands of distinct words.
    chunk_counts = Counter(chunk for text in texts for chunk in CHUNK.findall(text))
    words = [list(utf8(chunk)) for chunk in chunk_counts]
    counts = list(chunk_counts.values())

    # pair -> how often it occurs, and pair -> which words contain it. After a
    # merge only the words holding the merged pair change, so only their pairs
    # are recounted: that keeps training to seconds rather than minutes.
    pair_counts: Counter = Counter()
    words_with = defaultdict(set)
    for w, (word, count) in enumerate(zip(words, counts)):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += count
            words_with[pair].add(w)

    merges = []
    for new_id in range(256, vocab_size - len(special_tokens)):
        if not pair_counts:
            break  # every chunk is a single token already
        # Most frequent pair; ties go to the smallest (left id, right id).
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        merges.append(best)
        for w in words_with.pop(best):
            old, new = words[w], merge(words[w], best, new_id)
            for pair in zip(old, old[1:]):
                pair_counts[pair] -= counts[w]
                if pair_counts[pair] == 0:
                    del pair_counts[pair]
            for pair in zip(new, new[1:]):
                pair_counts[pair] += counts[w]
                words_with[pair].add(w)
            words[w] = new
    return Tokenizer(merges, special_tokens)


# ---------------------------------------------------------------------------
# Test vectors for the JavaScript port: `python -m model_export.stages.corpus --write-vectors`

VECTOR_TOKENIZER = "tests/data/tokenizer_small.json"
VECTOR_FILE = "tests/data/tokenizer_vectors.json"
VECTOR_TEXTS = [
    "The capital of France is Paris.",
    "In 2023 he scored 11 goals",
    "A flash flood watch will be in effect all night.",
    "Hello, world! (Really?) Yes: 3.32 -- done; x=y+1 & 50% off #tag @user",
    "France's capital isn't \"Lyon\".",
    "  leading spaces", "trailing spaces   ", "multiple    spaces   between", " ",
    "line one\nline two\n\nline four\r\nwindows\ttab\tseparated\v\f",
    "",
    "emoji 😀 and 👍🏽 thumbs, family 👨\u200d👩\u200d👧\u200d👦, flag 🇫🇷",
    "日本語のテキスト 東京 and 中文 北京",
    "العربية: القاهرة عاصمة مصر",
    "combining: e\u0301 cafe\u0301 n\u0303 vs precomposed café ñ",
    "control \x00 \x01 \x1b[31m \x7f chars",
    "Ελληνικά Αθήνα, русский Москва",
    "123456789 0.5 -42 1e9 ٣ ４２",
    "lone surrogate \ud800 here",
    "<|endoftext|>",
    "<|user|>What is the capital of France?<|assistant|>The capital of France is Paris.<|endoftext|>",
    "Action: search <|tool|>Scored 11 goals<|endoftext|> and <|bogus|> and <|user",
]
# Multilingual lines mixed into the small tokenizer's training text, so that it has
# merges inside multi-byte characters and the vectors exercise them.
VECTOR_EXTRA_TEXT = 100 * ["Tōkyō 東京 東京都 café naïve 😀😀 👍🏽 العربية Москва"]


def vector_tokenizer(docs: list[str]) -> Tokenizer:
    """The small tokenizer of the vectors, trained on documents of the world (docs) and VECTOR_EXTRA_TEXT."""
    return train_bpe(docs[:300] + VECTOR_EXTRA_TEXT, vocab_size=384)


def make_vectors(tok: Tokenizer) -> list[dict]:
    return [{"text": text, "allow_special": allow, "ids": tok.encode(text, allow_special=allow)}
            for text in VECTOR_TEXTS for allow in (False, True)]
