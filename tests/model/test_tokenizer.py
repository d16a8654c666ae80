"""Byte-level BPE: lossless on any text, digits kept apart, deterministic, stable vectors."""
import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_export.tokenizer import (CHUNK, SPECIAL_TOKENS, VECTOR_TEXTS, Tokenizer, make_vectors,
                                    train_bpe)
from model_export.world import make_world, pretrain_documents

DATA = Path(__file__).resolve().parents[1] / "data"
# Every code point except surrogates, which are not characters.
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))


@pytest.fixture(scope="module")
def corpus():
    return pretrain_documents(make_world(0), "train")


@pytest.fixture(scope="module")
def tok(corpus):
    return train_bpe(corpus, vocab_size=512)


@pytest.fixture(scope="module")
def small():
    """The fixed tokenizer the JavaScript port is tested against (has merges inside emoji and CJK)."""
    return Tokenizer.load(DATA / "tokenizer_small.json")


def test_vocab_layout(tok):
    assert tok.vocab_size == 512
    assert [tok.special_ids[name] for name in SPECIAL_TOKENS] == list(range(508, 512))
    assert tok.eot_id == tok.special_ids["<|endoftext|>"]
    assert tok.token_bytes(65) == b"A"
    assert tok.token_bytes(tok.eot_id) == b"<|endoftext|>"
    assert all(len(tok.token_bytes(i)) >= 2 for i in range(256, 508))


def test_training_is_fast_and_compresses(corpus):
    start = time.perf_counter()
    tok = train_bpe(corpus, vocab_size=512)
    assert time.perf_counter() - start < 10
    sample = corpus[:2000]
    chars, tokens = sum(map(len, sample)), sum(len(tok.encode(d)) for d in sample)
    assert chars / tokens > 2.0


def test_training_is_deterministic(corpus):
    texts = corpus[:3000]
    assert train_bpe(texts, 400).merges == train_bpe(texts, 400).merges
    assert train_bpe(texts, 400).merges == train_bpe(list(reversed(texts)), 400).merges


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_round_trip_any_text(small, text):
    assert small.decode(small.encode(text)) == text
    assert small.decode(small.encode(text, allow_special=True)) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(any_text, st.sampled_from(SPECIAL_TOKENS))).map("".join))
def test_round_trip_with_special_tokens(tok, text):
    assert tok.decode(tok.encode(text, allow_special=True)) == text
    assert tok.decode(tok.encode(text)) == text


@given(any_text)
def test_chunks_cover_the_text(text):
    assert "".join(CHUNK.findall(text)) == text


def test_digits_never_merge(tok, small):
    for t in (tok, small):
        for i in range(256, t.vocab_size - len(SPECIAL_TOKENS)):
            assert not re.search(rb"[0-9]", t.token_bytes(i)), t.token_bytes(i)
    ids = tok.encode("In 2023 he scored 11 goals")
    digits = [tok.token_bytes(i) for i in ids if tok.token_bytes(i).isdigit()]
    assert digits == [b"2", b"0", b"2", b"3", b"1", b"1"]


def test_special_tokens_only_when_allowed(tok):
    text = "<|user|>Hi<|endoftext|>"
    assert tok.encode(text, allow_special=True)[0] == tok.special_ids["<|user|>"]
    assert tok.encode(text, allow_special=True)[-1] == tok.eot_id
    assert not set(tok.encode(text)) & set(tok.special_ids.values())


def test_partial_utf8_decodes_with_replacement(small):
    ids = small.encode("😀")
    assert small.decode(ids) == "😀"
    assert small.decode(list(b"\xf0\x9f")) == "\ufffd"
    assert small.encode("a\ud800b") == small.encode("a\ufffdb")  # as JavaScript's TextEncoder


def test_json_round_trip(tok, tmp_path):
    path = tmp_path / "tok.json"
    tok.save(path)
    loaded = Tokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.special_ids == tok.special_ids
    d = json.loads(path.read_text())
    assert d["version"] == 1 and d["pattern"] == CHUNK.pattern
    assert d["merges"][0] == list(tok.merges[0])
    text = "The capital of France is Paris. 🇫🇷"
    assert loaded.encode(text) == tok.encode(text)


def test_stored_vectors_match(small):
    stored = json.loads((DATA / "tokenizer_vectors.json").read_text())
    assert stored == make_vectors(small)
    assert {v["text"] for v in stored} == set(VECTOR_TEXTS)
    assert {v["allow_special"] for v in stored} == {True, False}


def test_decode_rejects_ids_outside_the_vocabulary(small):
    """As the JS tokenizer does (checkId): -1 must not quietly mean the last token."""
    for bad in (-1, small.vocab_size, 10**6):
        with pytest.raises(ValueError, match="not in 0"):
            small.decode([small.encode("a")[0], bad])
