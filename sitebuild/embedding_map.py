"""The embedding map: the model's token embedding table, flattened to 2-D for a picture.

    folder = ensure(artifacts_dir)   # .cache/embedding-map/<artifacts>-<code hash>/
    # embedding_map.json      the widget's data (docs/javascripts/embedding-map.js)
    # embedding_vectors.json  the mapped tokens' full rows, for the page's PCA cell

What the map shows. With 512 tokens, byte-level BPE gives whole-word tokens
only to the corpus's most frequent words ("␣goals", "␣the", "␣capital"):
"␣France" is ␣F·r·an·ce, and no country, capital, animal or food of the world
has a row of its own. So the points are the vocabulary's own tokens, grouped by
what they are in the training text (digits, whole words, the capitalised first
pieces of names, ...), not the world's categories. Tokens that never occur in
the pre-training text (most of the 256 byte tokens, merges that only ever occur
inside a longer merge, the chat format's special tokens) are left off the map:
no input ever selected their rows, so their place says nothing about use.

How. PCA of the mapped rows: centre them, take the two right singular vectors
with the largest singular values (the two directions along which the points
spread most), and give each token its coordinates along them. The share of
the variance those two carry is recorded, because a 2-D picture of 128-D
points is only a shadow: each point's nearest neighbours are computed in the
full space (cosine similarity over the whole vocabulary), not read off the map.

The table is the pre-trained checkpoint's (params.npz). Its embedding is tied
to the output layer (model.py), so a row is shaped both by the contexts the
token is read in and by the contexts it is predicted in.

The name map (name_map.json, build_name_map) is the map of the world's names
that the token table cannot give: each country, capital, player, animal and
food is run through the pre-trained model on its own (<|endoftext|>, then the
name with the space before it, as it is written inside a sentence, which is
how each kind of name occurs most often in the training text), and the vector
the model holds at the name's last token is taken after block 1 and after the last block. That vector
is the residual stream as the final LayerNorm normalises it (centred, scaled
to unit RMS, before its learned gain and bias): cosine similarity ignores
size anyway, and PCA then weighs every name alike. Same PCA, same neighbours,
among the names only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export.config import PROFILES  # noqa: E402
from model_export.model import forward, load_params  # noqa: E402
from model_export.tokenizer import CHUNK, Tokenizer  # noqa: E402
from model_export.world import make_world, pretrain_documents  # noqa: E402

CACHE = ROOT / ".cache" / "embedding-map"
MAP_FILE = "embedding_map.json"
VECTORS_FILE = "embedding_vectors.json"
NAME_MAP_FILE = "name_map.json"
FILES = (MAP_FILE, VECTORS_FILE, NAME_MAP_FILE)
NEIGHBOURS = 5

# Map groups in legend order: key, what the legend calls it.
GROUPS = [
    ("digit", "digits"),
    ("letter", "single letters"),
    ("word", "whole words"),
    ("name", "first pieces of names"),
    ("start", "first pieces of other words"),
    ("piece", "middles and ends of words"),
    ("symbol", "punctuation, spaces, end of text"),
]
GROUP_INDEX = {key: i for i, (key, _) in enumerate(GROUPS)}
LETTERS = re.compile(r"^ ?[A-Za-z]+$")


def token_text(tok: Tokenizer, i: int) -> str:
    """A token's text; a lone byte that is not printable ASCII as <0xNN>, as Llama's vocabulary writes it."""
    raw = tok.token_bytes(i)
    if len(raw) == 1 and not 0x20 <= raw[0] < 0x7F and raw not in (b"\n", b"\t"):
        return f"<0x{raw[0]:02X}>"
    return raw.decode("utf-8", errors="replace")


def corpus_counts(tok: Tokenizer, docs: list[str]) -> tuple[np.ndarray, set[int]]:
    """How often each token occurs in the pre-training text, and the tokens that
    are a whole chunk (a whole word, with its space) somewhere in it."""
    chunks = Counter(c for d in docs for c in CHUNK.findall(d))
    counts = np.zeros(tok.vocab_size, dtype=np.int64)
    whole = set()
    for chunk, n in chunks.items():
        ids = tok.encode_chunk(chunk)
        np.add.at(counts, ids, n)
        if len(ids) == 1:
            whole.add(ids[0])
    counts[tok.eot_id] += len(docs)  # stages/corpus.token_stream ends every document with it
    return counts, whole


def group_of(text: str, i: int, whole: set[int]) -> str:
    if text.isdigit():
        return "digit"
    if not LETTERS.match(text):
        return "symbol"
    if len(text) == 1:
        return "letter"
    if i in whole:
        return "word"
    if text.lstrip(" ")[0].isupper():
        return "name"
    return "start" if text.startswith(" ") else "piece"


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of each row along the two main directions, and the share of the
    total variance each of the two carries."""
    centred = vectors - vectors.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    # SVD's signs are arbitrary: fix them so the picture does not flip between builds
    signs = np.where(np.abs(xy).max(axis=0) == xy.max(axis=0), 1.0, -1.0)
    return xy * signs, (s[:2] ** 2) / (s ** 2).sum()


def nearest(table: np.ndarray, ids: list[int], k: int = NEIGHBOURS) -> list[list[tuple[int, float]]]:
    """For each id, the k other tokens of the whole vocabulary with the highest cosine similarity."""
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    sims = unit[ids] @ unit.T
    sims[np.arange(len(ids)), ids] = -np.inf  # a token is not its own neighbour
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return [[(int(j), float(sims[r, j])) for j in row] for r, row in enumerate(order)]


def build_map(artifacts_dir: Path) -> tuple[dict, dict]:
    """(the widget's map, the mapped rows) for one model build's artifacts."""
    artifacts_dir = Path(artifacts_dir)
    tok = Tokenizer.load(artifacts_dir / "tokenizer.json")
    params, config = load_params(artifacts_dir / "params.npz")
    profile = PROFILES[json.loads((artifacts_dir / "report.json").read_text())["profile"]]
    world = make_world(seed=profile.world_seed)
    docs = pretrain_documents(world, "train", seed=profile.corpus_seed)  # the text pre-training read
    counts, whole = corpus_counts(tok, docs)

    table = params["wte"].astype(np.float64)
    texts = [token_text(tok, i) for i in range(tok.vocab_size)]
    ids = [i for i in range(tok.vocab_size) if counts[i] > 0]
    groups = [GROUP_INDEX[group_of(texts[i], i, whole)] if i != tok.eot_id else GROUP_INDEX["symbol"]
              for i in ids]
    xy, explained = pca_2d(table[ids])
    neighbours = nearest(table, ids)
    points = [{"id": i, "group": g, "x": round(float(x), 4), "y": round(float(y), 4), "count": int(counts[i]),
               "neighbours": [[j, round(s, 3)] for j, s in nb]}
              for i, g, (x, y), nb in zip(ids, groups, xy, neighbours)]
    never = [i for i in range(tok.vocab_size) if counts[i] == 0]
    # How the world's names are split: each is written with the space before it, as mid-sentence.
    names = {kind: [" " + n for n in ns] for kind, ns in [
        ("countries", [c.name for c in world.countries]), ("capitals", [c.capital for c in world.countries]),
        ("animals", [a.name for a in world.animals]), ("foods", [f.name for f in world.foods])]}
    splits = {kind: [[texts[i] for i in tok.encode(n)] for n in ns] for kind, ns in names.items()}
    the_map = {
        "version": 1,
        "checkpoint": "pre-trained",
        "vocab_size": tok.vocab_size,
        "n_embd": config.n_embd,
        "explained": [round(float(e), 4) for e in explained],
        "groups": [{"key": key, "name": name, "count": groups.count(g)} for g, (key, name) in enumerate(GROUPS)],
        "tokens": texts,
        "names": splits,  # each of the world's names as the tokens it is made of
        "points": points,
        "unseen": never,  # ids left off the map: they never occur in the pre-training text
    }
    vectors = {"ids": ids, "vectors": [[round(float(v), 4) for v in table[i]] for i in ids]}
    return the_map, vectors


# The name map's groups, in legend order: key, what the legend calls it.
NAME_GROUPS = [
    ("country", "countries"),
    ("capital", "capitals"),
    ("player", "football players"),
    ("animal", "animals"),
    ("food", "foods"),
]


def world_names(world) -> list[tuple[str, int]]:
    """Every name of the world once, with the index of its group in NAME_GROUPS."""
    kinds = [[c.name for c in world.countries], [c.capital for c in world.countries],
             [p.name for p in world.players], [a.name for a in world.animals], [f.name for f in world.foods]]
    seen, out = set(), []
    for g, names in enumerate(kinds):
        for n in names:
            if n not in seen:  # a name in two groups would be one point with two colours
                seen.add(n)
                out.append((n, g))
    return out


def last_token_vectors(params, config, sequences: list[list[int]], depth: int) -> np.ndarray:
    """The residual stream after `depth` blocks at each sequence's last token, as
    the final LayerNorm normalises it. One batched forward pass: the sequences are
    padded on the right, and since attention is causal, a position never sees the
    padding after it."""
    T = max(len(s) for s in sequences)
    idx = np.zeros((len(sequences), T), dtype=np.int64)
    for b, s in enumerate(sequences):
        idx[b, : len(s)] = s
    out = forward(params, replace(config, n_layer=depth), idx)  # a model cut after `depth` blocks
    normalised = out["cache"]["lnf"][0]  # (B, T, C): x centred and scaled, before ln_f's gain and bias
    return normalised[np.arange(len(sequences)), [len(s) - 1 for s in sequences]].astype(np.float64)


def build_name_map(artifacts_dir: Path) -> dict:
    """The widget's map of the world's names, as the layers represent them."""
    artifacts_dir = Path(artifacts_dir)
    tok = Tokenizer.load(artifacts_dir / "tokenizer.json")
    params, config = load_params(artifacts_dir / "params.npz")
    profile = PROFILES[json.loads((artifacts_dir / "report.json").read_text())["profile"]]
    names = world_names(make_world(seed=profile.world_seed))
    # Each name right after <|endoftext|> (no context before it), written with the space before it:
    # the form every kind of name takes most often in the training text, inside a sentence.
    sequences = [[tok.eot_id] + tok.encode(" " + n) for n, _ in names]
    groups = [g for _, g in names]
    views = []
    for depth in sorted({0, 1, config.n_layer}):  # 0: the last piece's row (plus its position), no block yet
        vectors = last_token_vectors(params, config, sequences, depth)
        xy, explained = pca_2d(vectors)
        neighbours = nearest(vectors, list(range(len(names))))
        views.append({
            "layer": depth,
            "explained": [round(float(e), 4) for e in explained],
            "points": [{"id": i, "group": g, "x": round(float(x), 4), "y": round(float(y), 4),
                        "neighbours": [[j, round(s, 3)] for j, s in nb]}
                       for i, (g, (x, y), nb) in enumerate(zip(groups, xy, neighbours))],
        })
    return {
        "version": 1,
        "kind": "names",
        "checkpoint": "pre-trained",
        "n_layer": config.n_layer,
        "n_embd": config.n_embd,
        "groups": [{"key": key, "name": name, "count": groups.count(g)} for g, (key, name) in enumerate(NAME_GROUPS)],
        "tokens": [n for n, _ in names],  # a point's id indexes this list
        "pieces": [len(s) - 1 for s in sequences],  # how many tokens spell each name
        "views": views,  # one per depth, the last block's last
    }


def code_key() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def ensure(artifacts_dir: Path) -> Path:
    """The folder holding FILES for these artifacts, built if missing (about a second)."""
    artifacts_dir = Path(artifacts_dir)
    final = CACHE / f"{artifacts_dir.name}-{code_key()}"
    if final.is_dir():
        return final
    the_map, vectors = build_map(artifacts_dir)
    name_map = build_name_map(artifacts_dir)
    tmp = CACHE / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / MAP_FILE).write_text(json.dumps(the_map, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (tmp / VECTORS_FILE).write_text(json.dumps(vectors, separators=(",", ":")), encoding="utf-8")
    (tmp / NAME_MAP_FILE).write_text(json.dumps(name_map, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    try:
        os.rename(tmp, final)  # a folder that exists is complete
    except OSError:  # another build got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Write the embedding map for one model build.")
    ap.add_argument("artifacts", help="a .cache/model/<profile>-<hash>/ folder")
    ap.add_argument("out", help="folder to write the JSON files into")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(ensure(Path(args.artifacts)) / name, out / name)
    print(out)
