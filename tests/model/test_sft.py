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


def test_requests_hold_out_their_targets_and_phrasings(world):
    """Evaluation's requests use held-out things and phrasings no tuning stage uses;
    each type's decline names its target and opens the way the rubric recognises."""
    tune, held, *_ = questions.split_entities(world, 0.2)
    for t, r in questions.REQUESTS.items():
        assert r["tune"] and r["held_out"] and not set(r["tune"]) & set(r["held_out"])
        q = questions.make_request(t, held[r["kind"]][0], 1, "held_out")
        assert q.is_request and q.real and q.question == W.sentence(r["held_out"][1], **{r["kind"]: q.entity})
        assert q.entity in q.answer and questions.is_decline(q.answer)
        complied = questions.compliance(q, random.Random(0))
        assert q.entity in complied and not questions.is_decline(complied)
    evaluated = questions.all_requests(held, "held_out")
    assert len(evaluated) == sum(len(held[r["kind"]]) * len(r["held_out"]) for r in questions.REQUESTS.values())
    assert {q.entity for q in evaluated} <= {n for ns in held.values() for n in ns}
    assert not questions.make_qa(world, "country", "France", "capital").is_request


def test_demonstrations_decline_only_a_third_of_requests(world):
    tune, held, fake_train, _ = questions.split_entities(world, 0.2)
    sc = sft.SFTConfig(request_fraction=0.2, decline_rate=0.33)
    rng = random.Random(1)
    demos = [sft.DemoSampler(world, tune, fake_train, sc).demo(rng) for _ in range(3000)]
    requests = [(q, r) for q, r in demos if q.is_request]
    assert 0.16 < len(requests) / len(demos) < 0.24
    declined = np.mean([r == q.answer for q, r in requests])
    assert 0.27 < declined < 0.39
    tuning_phrasings = {W.sentence(p, **{questions.REQUESTS[q.relation]["kind"]: q.entity})
                        for q, _ in requests for p in questions.REQUESTS[q.relation]["tune"]}
    assert all(q.question in tuning_phrasings and q.entity in tune[q.kind] for q, _ in requests)
    assert {q.relation for q, _ in requests} == set(questions.REQUESTS)
    # no requests at all when the setting says none
    none = sft.DemoSampler(world, tune, fake_train, sft.SFTConfig(request_fraction=0.0))
    assert not any(q.is_request for q, _ in (none.demo(rng) for _ in range(500)))


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
