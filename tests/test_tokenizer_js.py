"""The JavaScript tokenizer (docs/javascripts/tokenizer.js) gives exactly the Python ids.

Python is the reference (model_export/tokenizer.py). Each check sends a whole
batch of texts to one node process (tests/js/encode.mjs), since starting node
costs far more than encoding.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export.tokenizer import SPECIAL_TOKENS, VECTOR_TEXTS, Tokenizer, train_bpe  # noqa: E402
from model_export.world import make_world, pretrain_documents  # noqa: E402

NODE = shutil.which("node")
BRIDGE = ROOT / "tests" / "js" / "encode.mjs"
SMALL = ROOT / "tests" / "data" / "tokenizer_small.json"
VECTORS = ROOT / "tests" / "data" / "tokenizer_vectors.json"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run the JavaScript tokenizer")


def run_js(tokenizer_path, texts=(), allow_special=False, decode=(), token_texts=()):
    request = {"tokenizer": str(tokenizer_path), "texts": list(texts), "allowSpecial": allow_special,
               "decode": [list(ids) for ids in decode], "tokenTexts": list(token_texts)}
    proc = subprocess.run([NODE, str(BRIDGE)], input=json.dumps(request).encode(), capture_output=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout.decode("utf-8"))


def as_js_sees_it(text: str) -> str:
    """The text a JavaScript string holding the same UTF-16 would be.

    Python can hold a high and a low surrogate as two separate code points; in
    UTF-16 (JSON, JavaScript) that pair IS the astral character. Round-tripping
    through JSON joins such pairs, so both sides tokenize the same string.
    """
    return json.loads(json.dumps(text))


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


def check_batch(tok: Tokenizer, path, texts, allow_special):
    texts = [as_js_sees_it(t) for t in texts]
    js = run_js(path, texts, allow_special)
    for text, js_ids, roundtrip, pieces in zip(texts, js["ids"], js["roundtrip"], js["pieces"]):
        py_ids = tok.encode(text, allow_special=allow_special)
        assert js_ids == py_ids, f"ids differ for {text!r}"
        assert roundtrip == tok.decode(py_ids), f"JS decode(encode(text)) differs for {text!r}"
        assert [p[0] for p in pieces] == py_ids, f"pieces() ids differ from encode() for {text!r}"
        check_pieces(tok, text, pieces)


def check_pieces(tok: Tokenizer, text: str, pieces):
    """pieces()' character ranges tile the text in order; a whole-character piece is its token's bytes."""
    units = utf16(text)  # JavaScript offsets count UTF-16 code units
    position = 0  # where the previous piece ended
    for id, start, end, partial in pieces:
        assert 0 <= start <= position <= end and start < end, (text, pieces)
        if not partial:
            assert start == position, (text, pieces)
            covered = units[2 * start:2 * end].decode("utf-16-le", "surrogatepass")
            assert re.sub("[\ud800-\udfff]", "\ufffd", covered).encode() == tok.token_bytes(id), (text, pieces)
        position = end
    assert position == len(units) // 2, (text, pieces)


# --- 1. the fixed test vectors ------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return Tokenizer.load(SMALL)


def test_vectors(small):
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert {v["text"] for v in vectors} == set(VECTOR_TEXTS)
    for allow in (False, True):
        batch = [v for v in vectors if v["allow_special"] == allow]
        js = run_js(SMALL, [v["text"] for v in batch], allow)
        for v, ids, roundtrip in zip(batch, js["ids"], js["roundtrip"]):
            assert ids == v["ids"], f"ids differ for {v['text']!r} (allow_special={allow})"
            assert roundtrip == small.decode(v["ids"])


# --- 2. random text ---------------------------------------------------------------------

# Every code point, lone surrogates included (Python encodes them as U+FFFD, as TextEncoder does).
any_char = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
ATOMS = [
    *"abcxyzABCXYZ", *"0123456789", " ", "  ", "\t", "\n", "\r\n", "\v", "\f", *".,;:!?'\"()-_&%#@/\\<>|",
    "é", "e\u0301", "n\u0303", "\u0301", "ñ", "ō", "ï", "日", "本", "東京", "中文", "Москва", "العربية",
    "😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "\u200d", "🇫🇷", "\ufeff", "\ufffd", "\x00", "\x7f", "\x85",
    "\u2028", "\ud800", "\udfff", "\ud83d", "\ude00", "𝔘", "٣", "４", "<|", "|>", *SPECIAL_TOKENS,
]
interesting_text = st.lists(st.sampled_from(ATOMS), max_size=30).map("".join)
batches = dict(min_size=50, max_size=100)
# Ten batches of 50-100 texts, one node process each. No shrinking: it would start
# node hundreds of times, and the assertion messages already name the failing text.
fast = settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@fast
@given(texts=st.lists(st.text(alphabet=any_char, max_size=40), **batches), allow_special=st.booleans())
def test_random_unicode_matches_python(small, texts, allow_special):
    check_batch(small, SMALL, texts, allow_special)


@fast
@given(texts=st.lists(interesting_text, **batches), allow_special=st.booleans())
def test_interesting_text_matches_python(small, texts, allow_special):
    check_batch(small, SMALL, texts, allow_special)


def test_surrogates_and_bom(small):
    texts = ["\ud800", "a\udc00b", "\ud83d\ude00", "\ude00\ud83d", "\ufeffBOM", " \ud800\ud800 x", "\ud800\ud83d\ude00"]
    check_batch(small, SMALL, texts, False)
    # A leading byte-order mark survives decoding, as in Python (TextDecoder drops it by default).
    assert run_js(SMALL, decode=[[0xEF, 0xBB, 0xBF, 65]])["decoded"] == ["\ufeffA"]


# --- 3. decoding arbitrary ids ------------------------------------------------------------

def id_lists(vocab_size):
    any_id = st.integers(0, vocab_size - 1)
    high_byte = st.integers(0x80, 0xFF)  # continuation and lead bytes: cut characters
    lead_then_cont = st.tuples(st.sampled_from([0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]),
                               st.lists(st.integers(0x80, 0xBF), max_size=3)).map(lambda t: [t[0], *t[1]])
    piece = st.one_of(any_id.map(lambda i: [i]), high_byte.map(lambda i: [i]), lead_then_cont)
    return st.lists(piece, max_size=12).map(lambda ps: [i for p in ps for i in p])


@fast
@given(data=st.data())
def test_decode_arbitrary_ids_matches_python(small, data):
    lists = data.draw(st.lists(id_lists(small.vocab_size), **batches))
    js = run_js(SMALL, decode=lists)
    for ids, text in zip(lists, js["decoded"]):
        assert text == small.decode(ids), f"decode differs for {ids}"


def test_token_text(small):
    ids = list(range(small.vocab_size))
    texts = run_js(SMALL, token_texts=ids)["tokenTexts"]
    for id, text in zip(ids, texts):
        raw = small.token_bytes(id)
        try:
            assert text == raw.decode("utf-8")
        except UnicodeDecodeError:
            assert "<0x" in text
            # The readable form is exact: text parts and <0xNN> bytes give back the token's bytes.
            parts = re.split(r"<0x([0-9A-F]{2})>", text)
            rebuilt = b"".join(bytes([int(p, 16)]) if i % 2 else p.encode() for i, p in enumerate(parts))
            assert rebuilt == raw, (id, text)


# --- 4. a tokenizer trained on the real corpus --------------------------------------------

@pytest.fixture(scope="module")
def world_docs():
    return pretrain_documents(make_world(0), "train")


@pytest.fixture(scope="module")
def trained(world_docs, tmp_path_factory):
    tok = train_bpe(world_docs[:5000], vocab_size=512)
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    tok.save(path)
    return tok, path


def test_trained_tokenizer_on_corpus(trained, world_docs):
    tok, path = trained
    assert tok.vocab_size == 512
    docs = world_docs[5000:5300] + pretrain_documents(make_world(0), "val")[:100]
    check_batch(tok, path, docs, False)
    chat = [f"<|user|>{d[:80]}<|assistant|>{d[80:200]}<|endoftext|>" for d in docs[:50]]
    check_batch(tok, path, chat, True)


@fast
@given(texts=st.lists(st.one_of(interesting_text, st.text(alphabet=any_char, max_size=40)), **batches),
       allow_special=st.booleans())
def test_trained_tokenizer_random_text(trained, texts, allow_special):
    tok, path = trained
    check_batch(tok, path, texts, allow_special)
