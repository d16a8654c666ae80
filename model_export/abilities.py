"""Named abilities, measured again and again while pre-training runs.

Each probe is a set of token sequences plus the positions whose next token is
the answer. One batched forward pass per probe scores every answer token at
once: feeding the right answer in (teacher forcing) and checking the model's
top guess at each answer position is exactly greedy decoding as long as every
guess is right, so "all guesses right" is greedy exact match, with no
generation loop.

Every ability gets two scores in [0, 1]:
  exact    all-or-nothing: the whole answer right (or, for grammar, the
           grammatical sentence more likely than its broken twin)
  partial  partial credit: the fraction of answer tokens guessed right (for
           grammar, the share of probability the grammatical sentence gets
           out of the pair)
Schaeffer, Miranda & Koyejo (2023) argue that "emergent" jumps often come from
all-or-nothing metrics; recording both lets the page test that on its own model.

The probes are built from the world and the held-out (val) text, with their
own seeded random stream: building and measuring never touch the training
random numbers or the weights.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter

import numpy as np

from model_export import model

ABILITIES = {"spelling": "spelling real words", "grammar": "a or an", "facts": "capital cities",
             "copying": "copying a number"}
# Sentence openings the training text uses for foods, put before animals, and
# the other way round: familiar words, but sentences the model never read, so
# the article test checks a pattern rather than a memorised sentence.
FOOD_FRAMES = ["If you see {x}", "If you bite {x}", "The flavor of {x}", "Most of the time, {x}", "A cook would call {x}"]
ANIMAL_FRAMES = ["You can hear {x}", "The body of {x}", "If you look at {x}", "People often see {x}",
                 "The natural home of {x}", "The food of {x}", "The sound {x}"]
SPELLING_WINDOWS = 24   # val windows of block_size tokens for the spelling probe
COPY_PROMPTS = 48
WORD_MIN_COUNT = 20     # a "real" word appears this often in training text (made-up names do not)


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def build_probes(world, tok, train_docs, val_tokens, block_size: int, seed: int = 0) -> dict:
    """Token sequences and answer positions for each ability (see the module docstring)."""
    rng = random.Random(f"abilities-{seed}")
    probes = {}

    # facts: "The capital of France is" -> " Paris" for every country
    probes["facts"] = answer_probe(tok, [(p, a) for p, a in world.capital_prompts()])

    # copying: a random code stated once, then asked for again; the digits cannot be memorised
    rows = []
    for _ in range(COPY_PROMPTS):
        code = "".join(rng.choice("0123456789") for _ in range(4))
        rows.append((f"The code for the locker is {code}. Remember, the code is", f" {code}"))
    probes["copying"] = answer_probe(tok, rows)

    # grammar: minimal pairs that differ only in the article before an animal or a food
    rows = ([(frame, a.name) for a in world.animals for frame in FOOD_FRAMES] +
            [(frame, f.name) for f in world.foods for frame in ANIMAL_FRAMES])
    good = [frame.format(x=f"{article(noun)} {noun}") for frame, noun in rows]
    bad = [frame.format(x=f"{'a' if article(noun) == 'an' else 'an'} {noun}") for frame, noun in rows]
    probes["grammar"] = {"good": sentence_batch(tok, good), "bad": sentence_batch(tok, bad),
                         "vowel": np.array([article(noun) == "an" for _, noun in rows])}

    # spelling: within-word tokens of real words in held-out text
    counts = Counter(w for d in train_docs for w in re.findall(r"[A-Za-z]+", d))
    real = {w for w, n in counts.items() if n >= WORD_MIN_COUNT}
    nrng = np.random.default_rng(seed)
    starts = nrng.integers(0, len(val_tokens) - block_size - 1, SPELLING_WINDOWS)
    windows = np.stack([val_tokens[s:s + block_size + 1] for s in starts])
    probes["spelling"] = spelling_probe(tok, windows, real)
    return probes


def answer_probe(tok, rows) -> dict:
    """(prompt, answer) pairs as one right-padded batch: input = prompt + answer
    minus its last token; the answer's tokens are the targets at the end."""
    seqs, spans = [], []
    for prompt, answer in rows:
        p, a = tok.encode(prompt), tok.encode(answer)
        seqs.append(p + a)
        spans.append((len(p) - 1, len(a)))  # the position predicting the answer's first token, answer length
    return {"batch": padded(tok, seqs), "spans": spans}


def sentence_batch(tok, texts) -> dict:
    """Whole sentences after <|endoftext|>, for their total log-probability."""
    return {"batch": padded(tok, [[tok.eot_id] + tok.encode(t) for t in texts])}


def padded(tok, seqs) -> dict:
    # Right padding is harmless in a causal model: no real position attends to it.
    T = max(map(len, seqs))
    ids = np.full((len(seqs), T), tok.eot_id, dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=bool)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = True
    return {"ids": ids, "mask": mask}


def spelling_probe(tok, windows, real: set) -> dict:
    """Mark the tokens that continue a real word: a word starts with a token
    " x..." (space, then letters) and goes on with letters-only tokens.
    Predicting those continuation tokens is spelling."""
    pieces = [tok.decode([i]) for i in range(tok.vocab_size)]
    starts_word = [len(p) > 1 and p[0] == " " and p[1:].isalpha() for p in pieces]
    continues = [p.isalpha() for p in pieces]
    words = []  # per window: (position predicting the word's second token, tokens after the first)
    for row in windows:
        spans = []
        for k in range(len(row) - 1):
            if not starts_word[row[k]]:
                continue
            j = k + 1
            while j < len(row) and continues[row[j]]:
                j += 1
            word = "".join(pieces[t] for t in row[k:j]).strip()
            if j > k + 1 and j < len(row) and word in real:  # several tokens, and seen to end
                spans.append((k, j - k - 1))
        words.append(spans)
    return {"ids": windows[:, :-1], "targets": windows[:, 1:], "words": words}


def guesses_right(logits, targets):
    return logits.argmax(-1) == targets


def score_spans(right, spans_per_row):
    """exact: every token of an answer right; partial: the fraction of answer tokens right."""
    exact, tokens = [], []
    for row, spans in zip(right, spans_per_row):
        for start, n in spans:
            hit = row[start:start + n]
            exact.append(bool(hit.all()))
            tokens.extend(hit.tolist())
    return float(np.mean(exact)), float(np.mean(tokens))


def measure(params, config, tok, probes) -> dict:
    """Both scores of every ability, from one forward pass per probe."""
    out = {}
    for name in ("facts", "copying"):
        b = probes[name]["batch"]
        logits = model.forward(params, config, b["ids"][:, :-1])["logits"]
        right = guesses_right(logits, b["ids"][:, 1:])
        out[name] = score_spans(right, [[s] for s in probes[name]["spans"]])

    s = probes["spelling"]
    right = guesses_right(model.forward(params, config, s["ids"])["logits"], s["targets"])
    out["spelling"] = score_spans(right, s["words"])

    g = probes["grammar"]
    lp_good, lp_bad = sentence_logprob(params, config, g["good"]["batch"]), sentence_logprob(params, config, g["bad"]["batch"])
    share = 1.0 / (1.0 + np.exp(lp_bad - lp_good))  # p(good) / (p(good) + p(bad))
    # Averaged over "an" nouns and "a" nouns separately: most nouns take "a", so a
    # model that always prefers "a" would otherwise score high without the rule.
    groups = [g["vowel"], ~g["vowel"]]
    out["grammar"] = (float(np.mean([np.mean((lp_good > lp_bad)[m]) for m in groups])),
                      float(np.mean([np.mean(share[m]) for m in groups])))
    return {name: {"exact": round(e, 4), "partial": round(p, 4)} for name, (e, p) in out.items()}


def sentence_logprob(params, config, batch) -> np.ndarray:
    ids, mask = batch["ids"], batch["mask"]
    logits = model.forward(params, config, ids[:, :-1])["logits"].astype(np.float64)
    logits -= logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, ids[:, 1:, None], -1)[..., 0]
    return (picked * mask[:, 1:]).sum(-1)


class Meter:
    """measure() bound to one model's probes, timing itself (the build reports
    what the measurements added to pre-training)."""

    def __init__(self, config, tok, probes):
        self.config, self.tok, self.probes, self.seconds = config, tok, probes, 0.0

    def items(self) -> dict:
        """How many test items each score averages over."""
        p = self.probes
        return {"facts": len(p["facts"]["spans"]), "copying": len(p["copying"]["spans"]),
                "spelling": sum(map(len, p["spelling"]["words"])), "grammar": len(p["grammar"]["vowel"])}

    def answer_tokens(self) -> dict:
        """Mean tokens per answer, where partial credit counts tokens."""
        p = self.probes
        return {"facts": float(np.mean([n for _, n in p["facts"]["spans"]])),
                "copying": float(np.mean([n for _, n in p["copying"]["spans"]])),
                "spelling": float(np.mean([n for spans in p["spelling"]["words"] for _, n in spans]))}

    def __call__(self, params) -> dict:
        t0 = time.perf_counter()
        out = measure(params, self.config, self.tok, self.probes)
        self.seconds += time.perf_counter() - t0
        return out


def curves(steps, results) -> dict:
    """report.json's "abilities": results are train.History.probe (val_loss plus
    measure()'s dict) at the 0-based steps; "step" counts optimizer steps done."""
    return {"step": [s + 1 for s in steps], "val_loss": [round(r["val_loss"], 4) for r in results],
            "labels": dict(ABILITIES), "spelling_windows": SPELLING_WINDOWS, "word_min_count": WORD_MIN_COUNT,
            "copy_prompts": COPY_PROMPTS,
            "exact": {name: [r[name]["exact"] for r in results] for name in ABILITIES},
            "partial": {name: [r[name]["partial"] for r in results] for name in ABILITIES}}
