"""Instruction tuning: data, loss masking, learning, batched generation, determinism (tiny sizes)."""

import random

import numpy as np
import pytest

from model_export import decoding, model, questions, sft, train
from model_export.chat import encode_pair, encode_prompt
from model_export import world as W


@pytest.fixture(scope="module")
def replay(tok, world):
    return np.array(tok.encode(" ".join(W.pretrain_documents(world, "val", 0)[:100])), dtype=np.int64)


def test_chat_format_and_canonical_answer(world, tok):
    q = questions.make_qa(world, "country", "France", "capital")
    assert q.question == "What is the capital of France?"
    assert q.answer == W.TEMPLATES["capital"][0].format(country="France", capital="Paris")
    ids, mask = encode_pair(tok, q.question, q.answer)
    text = tok.decode(ids)
    assert text == "<|user|>What is the capital of France?<|assistant|>The capital of France is Paris.<|endoftext|>"
    # the mask covers exactly the response and its end token
    start = mask.index(1.0)
    assert tok.decode(ids[start:]) == "The capital of France is Paris.<|endoftext|>" and all(mask[start:])
    assert ids[start - 1] == tok.special_ids["<|assistant|>"]


def test_questions_cover_relations_and_phrasings(world):
    tune, held, *_ = questions.split_entities(world, 0.2)
    qs = questions.all_questions(world, held, phrasings="all")
    assert {q.relation for q in qs} == set(questions.QUESTIONS)
    assert len({q.question for q in qs if q.relation == "capital" and q.entity == held["country"][0]}) >= 4
    fake = questions.all_questions(world, questions.fake_names(), real=False)
    assert all(not q.real and q.answer.startswith("I don't know") for q in fake)


def test_demonstrations_only_use_tuning_entities(world):
    tune, held, fake_train, fake_eval = questions.split_entities(world, 0.2)
    sampler = sft.DemoSampler(world, tune, fake_train, sft.SFTConfig())
    rng = random.Random(0)
    demos = [sampler.demo(rng) for _ in range(2000)]
    held_names = {n for ns in held.values() for n in ns} | {n for ns in fake_eval.values() for n in ns}
    assert not any(q.entity in held_names for q, _ in demos)
    fakes = [r for q, r in demos if not q.real]
    assert 0.08 < len(fakes) / len(demos) < 0.22
    assert 0.15 < np.mean([r.startswith("I don't know") for r in fakes]) < 0.45  # demonstrators mostly guess
    real = [(q, r) for q, r in demos if q.real]
    assert np.mean([r == q.answer for q, r in real]) > 0.7


def test_sft_loss_is_masked_to_responses(world, tok, tiny):
    """Prompt positions carry zero weight: changing what they would predict
    leaves the gradient exactly unchanged; changing a response target does not."""
    tune, _, fake_train, _ = questions.split_entities(world, 0.2)
    sc = sft.SFTConfig(batch_rows=4, replay_rows=0)
    sampler = sft.DemoSampler(world, tune, fake_train, sc)
    x, y, w = sft.sft_batch(tok, sampler, random.Random(0), np.random.default_rng(0), sc, tiny.block_size, None)
    assert w.sum() == pytest.approx(1.0, rel=1e-5)
    assert (w[y == tok.special_ids["<|user|>"]] == 0).all()            # never trained to start a question
    assert (w[x == tok.special_ids["<|assistant|>"]] > 0).all()        # the first response token is
    params = model.init_params(tiny, seed=0, dtype=np.float64)

    def grad(targets):
        g = model.views(np.zeros(model.num_params(tiny)), tiny)
        train.lm_loss_and_grads(params, tiny, g, (x, targets, w.astype(np.float64)))
        return model.flat_of(g).copy()

    g0 = grad(y)
    y_prompt = y.copy()
    y_prompt[w == 0] = (y[w == 0] + 7) % tiny.vocab_size
    np.testing.assert_array_equal(grad(y_prompt), g0)
    y_resp = y.copy()
    i = np.argwhere(w > 0)[0]
    y_resp[tuple(i)] = (y[tuple(i)] + 7) % tiny.vocab_size
    assert not np.array_equal(grad(y_resp), g0)


def test_replay_share_of_the_loss(world, tok, tiny, replay):
    tune, _, fake_train, _ = questions.split_entities(world, 0.2)
    sc = sft.SFTConfig(batch_rows=4, replay_rows=2, replay_weight=0.25)
    sampler = sft.DemoSampler(world, tune, fake_train, sc)
    x, y, w = sft.sft_batch(tok, sampler, random.Random(0), np.random.default_rng(0), sc, tiny.block_size, replay)
    assert x.shape == (6, tiny.block_size)
    assert w[4:].sum() == pytest.approx(0.25, rel=1e-5) and w[:4].sum() == pytest.approx(0.75, rel=1e-5)


def _tune(world, tok, tiny, replay, steps=40, seed=0):
    tune, _, fake_train, _ = questions.split_entities(world, 0.2)
    sc = sft.SFTConfig(steps=steps, batch_rows=6, replay_rows=2, lr=3e-3, warmup_steps=5, workers=1, seed=seed)
    base = model.init_params(tiny, seed=0)
    return base, *sft.sft_train(base, tiny, tok, world, tune, fake_train, sc, replay, log=None)


def test_sft_loss_goes_down_and_is_deterministic(world, tok, tiny, replay):
    base, p1, h1 = _tune(world, tok, tiny, replay)
    assert np.mean(h1.train_loss[-10:]) < 0.8 * np.mean(h1.train_loss[:5])
    assert not np.array_equal(model.flat_of(p1), model.flat_of(base))  # the base is not modified...
    assert np.array_equal(model.flat_of(base), model.flat_of(model.init_params(tiny, seed=0)))  # ...in place
    _, p2, _ = _tune(world, tok, tiny, replay)
    assert model.flat_of(p1).tobytes() == model.flat_of(p2).tobytes()


def test_batched_generation_matches_one_at_a_time(world, tok, tiny):
    params = model.init_params(tiny, seed=3)
    qs = [questions.make_qa(world, "country", c.name, "capital").question for c in world.countries[:12]]
    prompts = [encode_prompt(tok, q) for q in qs]
    batched = decoding.generate(params, tiny, prompts, 8, tok.eot_id)
    for p, out in zip(prompts, batched):
        assert out == decoding.generate(params, tiny, [p], 8, tok.eot_id)[0]
    a = decoding.generate(params, tiny, prompts, 8, tok.eot_id, temperature=1.0, rng=decoding.XorShift(0))
    b = decoding.generate(params, tiny, prompts, 8, tok.eot_id, temperature=1.0, rng=decoding.XorShift(0))
    assert a == b


def test_pack_rows_keeps_conversations_whole():
    seqs = [([1, 2, 3], [0, 1, 1]), ([4, 5, 6, 7], [0, 0, 1, 1]), ([8] * 8, [1] * 8), ([9] * 9, [1] * 9)]
    x, y, m = sft.pack_rows(seqs, 2, 7, pad_id=0)
    assert x.tolist() == [[1, 2, 3, 4, 5, 6, 7], [8] * 7]
    assert y[0].tolist() == [2, 3, 4, 5, 6, 7, 0] and m[0].tolist() == [1, 1, 0, 0, 1, 1, 0]
