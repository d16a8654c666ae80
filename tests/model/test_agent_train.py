"""Tool-use tuning (model_export/agent_train.py): batches, the cached generator, learning, evaluation (tiny sizes)."""

import random

import numpy as np
import pytest

from model_export import agent, agent_train, model
from model_export import world as W
from model_export.tokenizer import SPECIAL_TOKENS, train_bpe

WORLD = W.make_world(0)


@pytest.fixture(scope="module")
def tok():
    docs = W.pretrain_documents(WORLD, "val", 0)[:400]
    return train_bpe(docs + agent.bpe_texts(WORLD, 300), vocab_size=400)


@pytest.fixture(scope="module")
def config(tok):
    return model.GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_embd=32, n_head=2, block_size=128)


@pytest.fixture(scope="module")
def params(config):
    return model.init_params(config, seed=3)


SMALL = agent_train.AgentConfig(steps=60, batch_rows=8, lr=3e-3, warmup_steps=5, workers=1, eval_max=4,
                                max_turn_tokens=40)


def test_bpe_texts_hold_json_and_no_special_tokens():
    texts = agent.bpe_texts(WORLD, 200)
    assert not any(s in t for t in texts for s in SPECIAL_TOKENS)
    assert sum(t.startswith('{"tool": ') for t in texts) > 100
    assert texts == agent.bpe_texts(WORLD, 200)  # deterministic


def test_the_bpe_learns_json_pieces(tok):
    pieces = {tok.decode([i]) for i in range(256, tok.vocab_size - len(SPECIAL_TOKENS))}
    assert {'{"', '":'} & pieces, sorted(pieces)[:40]


def test_batch_weights_cover_exactly_what_the_assistant_writes(tok, config):
    x, y, w = agent_train.transcript_batch(tok, WORLD, random.Random(0), SMALL, config.block_size)
    assert x.shape == y.shape == w.shape == (SMALL.batch_rows, config.block_size)
    assert abs(float(w.sum()) - 1.0) < 1e-5
    assert (x[:, 1:] == y[:, :-1]).all()
    weighted = {tok.decode([int(t)]) for t in y[w > 0]}
    assert "<|tool|>" in weighted and "<|endoftext|>" in weighted
    assert "<|user|>" not in weighted and "<|assistant|>" not in weighted
    # every row starts with a transcript (first-fit packing wastes no row)
    assert (x[:, 0] == tok.special_ids["<|user|>"]).all()


def test_cached_logits_equal_a_full_forward(params, config):
    rng = np.random.default_rng(0)
    f = agent_train.CachedLogits(params, config)
    seq = list(rng.integers(0, config.vocab_size, 100))
    # grow, repeat, shrink to a prefix, diverge: each answer equals a fresh forward pass
    for ids in (seq[:10], seq[:11], seq[:30], seq[:30], seq[:20], seq[:20] + [5, 6], seq[:100]):
        want = model.forward(params, config, np.array([ids]))["logits"][0, -1]
        np.testing.assert_allclose(f(ids), want, rtol=1e-4, atol=1e-5)
    with pytest.raises(agent_train.ContextFull):
        f(seq + seq)
    with pytest.raises(ValueError, match="no tokens"):
        f([])


def test_run_question_stops_when_the_context_is_full(params, config, tok):
    small = model.GPTConfig(**{**config.to_dict(), "block_size": 32})
    p = model.init_params(small, seed=1)
    r = agent_train.run_question(p, small, tok, "How many goals did Lionel Messi score in 2023?",
                                 agent.make_tools(WORLD), True, SMALL)
    assert r["stopped"] == "stopped: the transcript is longer than the 32-token context"
    assert r["answer"] is None


def test_tuning_lowers_the_loss_and_evaluation_reports(params, config, tok):
    tuned, hist = agent_train.agent_train(params, config, tok, WORLD, SMALL, log=None)
    first, last = np.mean(hist.train_loss[:5]), np.mean(hist.train_loss[-5:])
    assert last < first - 0.5, (first, last)
    assert not np.array_equal(model.flat_of(tuned), model.flat_of(params))  # a copy was tuned
    for constrained in (True, False):
        e = agent_train.evaluate_agent(tuned, config, tok, WORLD, SMALL, constrained)
        assert e["n"] == SMALL.eval_max and e["examples"][0]["question"].startswith("How many goals did Lionel Messi")
        assert 0 <= e["accuracy"] <= 1 and set(e["by_split"]) <= {"held_out_entity", "held_out_shape", "train_entity"}
        if constrained and e["tool_calls"]:
            assert e["valid_rate"] == 1.0  # the constraint makes every call parse and validate
    # sampled at temperatures 0.7-1.5 from a barely trained model: every constrained call validates
    c = agent_train.sampled_calls(tuned, config, tok, WORLD, 18, True, max_tokens=40)
    assert c["samples"] == c["valid"] == 18 and c["valid_rate"] == 1.0
    u = agent_train.sampled_calls(tuned, config, tok, WORLD, 9, False, max_tokens=40)
    assert u["samples"] == 9 and 0 <= u["valid"] <= 9
