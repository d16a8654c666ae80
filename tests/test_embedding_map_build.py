"""The embedding map (sitebuild/embedding_map.py) on the smoke model's artifacts.

* the PCA: one 2-D point per mapped token, the same as numpy's own SVD of the
  centred rows (up to each axis's sign), explained variance shares in (0, 1],
  largest first, and the coordinates' variances in the same proportion;
* the points: exactly the tokens that occur in the pre-training text, every
  group present, the digits all in the digit group;
* the neighbours: five per point, never the point itself, sorted, equal to a
  brute-force cosine over the whole vocabulary;
* the files: ensure() writes both JSON files once and reuses them; the vectors
  file holds the mapped rows in the map's order;
* the world's names are recorded as the tokens that spell them;
* the cells' artifact() finds the map in its own folder next to the model's;
* the name map: one point per name of the world in every view (before any
  block, after block 1, after the last), every group present, the same PCA
  and neighbour rules among the names, and the names' last-token vectors of
  one batched forward pass equal to one forward pass per name.
"""

import json
import os

import numpy as np
import pytest

from model_export.build import ensure_artifacts
from model_export.config import PROFILES
from model_export.model import forward, load_params
from model_export.tokenizer import Tokenizer
from model_export.world import make_world
from sitebuild import cellrun, embedding_map


@pytest.fixture(scope="module")
def artifacts():
    return ensure_artifacts("smoke", log=None)


@pytest.fixture(scope="module")
def built(artifacts):
    return embedding_map.build_map(artifacts)


@pytest.fixture(scope="module")
def name_map(artifacts):
    return embedding_map.build_name_map(artifacts)


@pytest.fixture(scope="module")
def table(artifacts):
    params, _ = load_params(artifacts / "params.npz")
    return params["wte"].astype(np.float64)


def test_pca_matches_numpy_and_explains_a_share_of_the_variance(built, table):
    the_map, vectors = built
    ids = [p["id"] for p in the_map["points"]]
    assert vectors["ids"] == ids
    xy, explained = embedding_map.pca_2d(table[ids])
    assert xy.shape == (len(ids), 2)
    centred = table[ids] - table[ids].mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    reference = centred @ vt[:2].T
    np.testing.assert_allclose(np.abs(xy), np.abs(reference), atol=1e-9)  # SVD signs are arbitrary
    assert all(0 < e <= 1 for e in explained) and explained[0] >= explained[1] and explained.sum() <= 1
    # each coordinate's variance is that share of the total variance
    np.testing.assert_allclose(xy.var(axis=0), explained * centred.var(axis=0).sum(), rtol=1e-9)
    np.testing.assert_allclose(the_map["explained"], explained, atol=1e-4)
    np.testing.assert_allclose([[p["x"], p["y"]] for p in the_map["points"]], xy, atol=1e-4)


def test_points_are_the_tokens_of_the_training_text_in_every_group(built, artifacts):
    the_map, _ = built
    tok = Tokenizer.load(artifacts / "tokenizer.json")
    ids = {p["id"] for p in the_map["points"]}
    assert ids.isdisjoint(the_map["unseen"]) and len(ids) + len(the_map["unseen"]) == tok.vocab_size
    assert all(p["count"] > 0 for p in the_map["points"])
    assert tok.eot_id in ids  # every document ends with it
    assert {tok.special_ids["<|user|>"], tok.special_ids["<|assistant|>"]} <= set(the_map["unseen"])  # chat only
    assert [g["key"] for g in the_map["groups"]] == [key for key, _ in embedding_map.GROUPS]
    counts = [0] * len(the_map["groups"])
    for p in the_map["points"]:
        counts[p["group"]] += 1
    assert counts == [g["count"] for g in the_map["groups"]] and all(counts)
    digits = {tok.encode(str(d))[0] for d in range(10)}
    digit_group = embedding_map.GROUP_INDEX["digit"]
    assert {p["id"] for p in the_map["points"] if p["group"] == digit_group} == digits
    assert the_map["tokens"][tok.encode(" the")[0]] == " the"


def test_neighbours_exclude_the_point_are_sorted_and_match_brute_force(built, table):
    the_map, _ = built
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    for p in the_map["points"]:
        ids = [j for j, _ in p["neighbours"]]
        sims = [s for _, s in p["neighbours"]]
        assert len(ids) == embedding_map.NEIGHBOURS and p["id"] not in ids and len(set(ids)) == len(ids)
        assert sims == sorted(sims, reverse=True)
    for p in the_map["points"][:: max(1, len(the_map["points"]) // 20)]:
        cos = unit @ unit[p["id"]]
        cos[p["id"]] = -np.inf
        best = np.argsort(-cos)[: embedding_map.NEIGHBOURS]
        np.testing.assert_allclose([s for _, s in p["neighbours"]], cos[best], atol=1e-3)


def test_names_are_spelled_by_their_tokens(built):
    the_map, _ = built
    assert set(the_map["names"]) == {"countries", "capitals", "animals", "foods"}
    assert "".join(the_map["names"]["countries"][0]) == " France"


def test_ensure_writes_both_files_once(artifacts, built):
    folder = embedding_map.ensure(artifacts)
    assert embedding_map.ensure(artifacts) == folder
    the_map = json.loads((folder / embedding_map.MAP_FILE).read_text(encoding="utf-8"))
    vectors = json.loads((folder / embedding_map.VECTORS_FILE).read_text(encoding="utf-8"))
    assert the_map == json.loads(json.dumps(built[0]))
    assert vectors["ids"] == [p["id"] for p in the_map["points"]]
    assert np.array(vectors["vectors"]).shape == (len(vectors["ids"]), the_map["n_embd"])


def test_a_lone_byte_is_named_by_its_value(artifacts):
    tok = Tokenizer.load(artifacts / "tokenizer.json")
    assert embedding_map.token_text(tok, 0x84) == "<0x84>"
    assert embedding_map.token_text(tok, ord("\n")) == "\n"
    assert embedding_map.token_text(tok, ord("a")) == "a"


def test_cells_find_the_map_next_to_the_model_files(artifacts, monkeypatch):
    # sitebuild/hooks.py gives the cells both folders, joined by os.pathsep (cellrun.artifact)
    folder = embedding_map.ensure(artifacts)
    monkeypatch.setenv("GUIDE_ARTIFACTS", os.pathsep.join([str(artifacts), str(folder)]))
    assert json.loads(cellrun.artifact(embedding_map.MAP_FILE))["version"] == 1
    assert json.loads(cellrun.artifact("tokenizer.json"))["version"] == 1
    with pytest.raises(FileNotFoundError):
        cellrun.artifact("no-such-file.json")


def test_name_map_has_every_name_in_every_view(name_map, artifacts):
    world = make_world(seed=PROFILES["smoke"].world_seed)
    names = [n for n, _ in embedding_map.world_names(world)]
    assert name_map["tokens"] == names and len(set(names)) == len(names)
    assert {"France", "Paris", "Lionel Messi"} <= set(names)
    assert [g["key"] for g in name_map["groups"]] == [key for key, _ in embedding_map.NAME_GROUPS]
    assert all(g["count"] > 0 for g in name_map["groups"]) and sum(g["count"] for g in name_map["groups"]) == len(names)
    _, config = load_params(artifacts / "params.npz")
    assert [v["layer"] for v in name_map["views"]] == sorted({0, 1, config.n_layer})
    tok = Tokenizer.load(artifacts / "tokenizer.json")
    assert name_map["pieces"] == [len(tok.encode(" " + n)) for n in names]
    for view in name_map["views"]:
        points = view["points"]
        assert [p["id"] for p in points] == list(range(len(names)))
        assert all(0 < e <= 1 for e in view["explained"]) and view["explained"][0] >= view["explained"][1]
        xy = np.array([[p["x"], p["y"]] for p in points])
        assert xy.shape == (len(names), 2) and np.isfinite(xy).all()
        for p in points:
            ids = [j for j, _ in p["neighbours"]]
            sims = [s for _, s in p["neighbours"]]
            assert len(ids) == embedding_map.NEIGHBOURS and p["id"] not in ids and len(set(ids)) == len(ids)
            assert all(0 <= j < len(names) for j in ids) and sims == sorted(sims, reverse=True)


def test_name_vectors_batched_equal_one_at_a_time(name_map, artifacts):
    params, config = load_params(artifacts / "params.npz")
    tok = Tokenizer.load(artifacts / "tokenizer.json")
    names = name_map["tokens"]
    some = list(range(0, len(names), max(1, len(names) // 12)))  # names of every length and kind
    sequences = [[tok.eot_id] + tok.encode(" " + names[i]) for i in range(len(names))]
    assert len({len(sequences[i]) for i in some}) > 1  # padding is really exercised
    for depth in sorted({0, 1, config.n_layer}):
        batched = embedding_map.last_token_vectors(params, config, sequences, depth)
        assert batched.shape == (len(names), config.n_embd)
        for i in some:
            alone = embedding_map.last_token_vectors(params, config, [sequences[i]], depth)[0]
            np.testing.assert_allclose(batched[i], alone, rtol=1e-4, atol=1e-4)
        # the neighbours and PCA of the file are those of these vectors
        view = next(v for v in name_map["views"] if v["layer"] == depth)
        xy, explained = embedding_map.pca_2d(batched)
        np.testing.assert_allclose(view["explained"], explained, atol=1e-3)
        unit = batched / np.linalg.norm(batched, axis=1, keepdims=True)
        for i in some:
            cos = unit @ unit[i]
            cos[i] = -np.inf
            assert [j for j, _ in view["points"][i]["neighbours"]][:1] == [int(np.argmax(cos))]


def test_name_vectors_are_the_residual_stream_normalised(artifacts):
    # After all blocks, the kept vector times ln_f's gain plus its bias is what forward() hands the head.
    params, config = load_params(artifacts / "params.npz")
    tok = Tokenizer.load(artifacts / "tokenizer.json")
    seq = [tok.eot_id] + tok.encode(" France")
    v = embedding_map.last_token_vectors(params, config, [seq], config.n_layer)[0]
    hidden = forward(params, config, np.array([seq]))["hidden"][0, -1]
    np.testing.assert_allclose(v * params["ln_f.g"] + params["ln_f.b"], hidden, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.mean(v), 0, atol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.mean(v**2)), 1, rtol=1e-3)


def test_ensure_writes_the_name_map(artifacts, name_map):
    folder = embedding_map.ensure(artifacts)
    assert embedding_map.NAME_MAP_FILE in embedding_map.FILES
    written = json.loads((folder / embedding_map.NAME_MAP_FILE).read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(name_map))
