"""The abilities measured during pre-training (model_export/abilities.py): the
report's shape, that measuring leaves training untouched, and (full model) that
every ability improves."""

import json

import numpy as np
import pytest

from model_export import abilities, model, train
from model_export import world as W
from model_export.build import ensure_artifacts
from model_export.stages.corpus import token_stream


@pytest.fixture(scope="module")
def setup(world, tok, tiny):
    docs = W.pretrain_documents(world, "val", 0)
    tokens = token_stream(tok, docs[:400])
    probes = abilities.build_probes(world, tok, docs[:400], tokens, tiny.block_size)
    return tokens, probes


def test_probes_mark_answers(tok, setup):
    _, probes = setup
    words = [tok.decode(list(probes["spelling"]["ids"][r][k:k + n + 1]))
             for r, spans in enumerate(probes["spelling"]["words"]) for k, n in spans]
    assert words and all(w.strip().isalpha() and w.startswith(" ") for w in words)
    b = probes["facts"]["batch"]
    start, n = probes["facts"]["spans"][0]
    assert tok.decode(list(b["ids"][0][start + 1:start + 1 + n])) == " Paris"
    assert probes["grammar"]["vowel"].any() and not probes["grammar"]["vowel"].all()


def test_measure_scores_in_unit_interval(tok, tiny, setup):
    _, probes = setup
    out = abilities.measure(model.init_params(tiny, seed=0), tiny, tok, probes)
    assert set(out) == set(abilities.ABILITIES)
    for scores in out.values():
        assert set(scores) == {"exact", "partial"} and all(0.0 <= v <= 1.0 for v in scores.values())


def test_measuring_does_not_change_training(tok, tiny, setup):
    tokens, probes = setup
    tc = train.TrainConfig(steps=6, batch_size=4, warmup_steps=2, eval_every=3, eval_batches=1, workers=2)
    plain, _ = train.pretrain(tiny, tc, tokens, tokens, log=None)
    meter = abilities.Meter(tiny, tok, probes)
    measured, hist = train.pretrain(tiny, tc, tokens, tokens, log=None, measure=meter, measure_every=2)
    for name in plain:
        np.testing.assert_array_equal(plain[name], measured[name], err_msg=name)
    curves = abilities.curves(hist.probe_step, hist.probe)
    assert curves["step"] == [1, 3, 5, 6]
    check_shape(curves)


def check_shape(curves):
    n = len(curves["step"])
    assert n >= 2 and curves["step"] == sorted(curves["step"]) and len(curves["val_loss"]) == n
    for kind in ("exact", "partial"):
        assert set(curves[kind]) == set(curves["labels"]) == set(abilities.ABILITIES)
        for values in curves[kind].values():
            assert len(values) == n and all(0.0 <= v <= 1.0 for v in values)


def test_report_has_the_curves():
    report = json.loads((ensure_artifacts("smoke", log=None) / "report.json").read_text())
    check_shape(report["abilities"])
    assert report["abilities"]["step"][-1] == report["pretrain"]["steps"]
    items = report["abilities"]["items"]
    assert set(items) == set(abilities.ABILITIES) and min(items.values()) > 0, items


@pytest.mark.full
def test_every_ability_ends_above_where_it_starts(full_artifacts):
    curves = json.loads((full_artifacts / "report.json").read_text())["abilities"]
    assert len(curves["step"]) >= 10
    for kind in ("exact", "partial"):
        for name, values in curves[kind].items():
            assert values[-1] > values[0], (kind, name, values)
    assert curves["val_loss"][-1] < curves["val_loss"][0]


def test_jump_words_follow_the_numbers():
    from sitebuild.cellrun import halfway_words, jump_verdict
    assert "no jump" in jump_verdict(None)
    jump = dict(label="copying a number", steps=(501, 551), scores=(0.0, 0.9), share=0.9, partial_share=0.8,
                losses=(0.71, 0.69), loss_share=0.004)
    words = jump_verdict(jump)
    assert "step 501 and step 551" in words and "0% to 90%" in words and "0.71 to 0.69 (0.4% of" in words
    assert "not only an effect" in words
    words = jump_verdict({**jump, "partial_share": 0.1})
    assert "only 10%" in words and "gradually" in words
    words = halfway_words([("capital cities", 751, 301), ("spelling", 251, 251)])
    assert "capital cities at step 301 instead of 751" in words and "same measurement for spelling" in words
