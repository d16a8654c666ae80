"""decoding.py: the random numbers, the sampler and the generation loop."""
import numpy as np
import pytest

from model_export import decoding, model
from model_export.decoding import Distribution, XorShift

# ---------------------------------------------------------------------------
# XorShift


def test_xorshift_matches_llama2c():
    """The values llama2.c's random_u32 / random_f32 print (compiled from its C
    source) for states 1, 43 and 2**64 - 1, i.e. seeds 0, 42 and 2**64 - 2."""
    x = XorShift(0)
    assert [x.next_u32() for _ in range(3)] == [1206177355, 2882512552, 3117485455]
    x = XorShift(42)
    assert [round(x.random(), 9) for _ in range(3)] == [0.619920313, 0.453393042, 0.114008367]
    x = XorShift(2 ** 64 - 2)
    assert [x.next_u32() for _ in range(2)] == [4180462053, 2415166680]


def test_seed_zero_works_and_bad_seeds_are_refused():
    draws = XorShift(0).randoms(10_000)
    assert 0 <= draws.min() and draws.max() < 1 and abs(draws.mean() - 0.5) < 0.01
    assert len(set(draws.tolist())) > 9_900
    assert XorShift(np.int64(5)).randoms(3).tolist() == XorShift(5).randoms(3).tolist()
    for bad in (-1, 2 ** 64 - 1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed"):
            XorShift(bad)


# ---------------------------------------------------------------------------
# The sampler


def test_distribution_ranks_cuts_and_renormalises():
    logits = np.log(np.array([0.05, 0.3, 0.15, 0.5], dtype=np.float32))
    d = decoding.distribution(logits)
    assert d.ids.tolist() == [3, 1, 2, 0] and np.allclose(d.probs, [0.5, 0.3, 0.15, 0.05])
    assert decoding.distribution(logits, top_k=2).ids.tolist() == [3, 1]
    assert np.allclose(decoding.distribution(logits, top_k=2).probs, [0.625, 0.375])
    assert decoding.distribution(logits, top_p=0.75).ids.tolist() == [3, 1]     # 0.5 < 0.75 <= 0.8
    assert decoding.distribution(logits, top_p=0.5).ids.tolist() == [3]         # reached exactly
    assert decoding.distribution(logits, top_k=3, top_p=0.9).ids.tolist() == [3, 1, 2]
    sharp = decoding.distribution(logits, temperature=0.5)
    assert np.allclose(sharp.probs, np.array([0.25, 0.09, 0.0225, 0.0025]) / 0.365)
    greedy = decoding.distribution(logits, temperature=0)
    assert greedy.greedy and greedy.ids.tolist() == [3]


def test_ties_keep_the_lower_id_first():
    logits = np.array([1.0, 2.0, 1.0, 2.0, 2.0, -800.0, -900.0], dtype=np.float32)
    rows = np.stack([logits, logits[::-1].copy()])
    order, ranked = decoding._ranked(rows, 1.0)
    assert order.tolist() == [[1, 3, 4, 0, 2, 5, 6], [2, 3, 5, 4, 6, 0, 1]]   # -800 and -900 both underflow to 0
    assert ranked[0, -1] == ranked[0, -2] == 0
    assert decoding.distribution(logits, top_k=4).ids.tolist() == [1, 3, 4, 0]
    assert decoding.distribution(logits, temperature=0).ids.tolist() == [1]           # the first maximum


def test_choose_walks_the_slices():
    d = decoding.distribution(np.log(np.array([0.2, 0.5, 0.3])))   # slices: 1 [0, .5), 2 [.5, .8), 0 [.8, 1)
    assert [decoding.choose(d, c) for c in (0.0, 0.49, 0.51, 0.79, 0.81, 0.999999)] == [1, 1, 2, 2, 0, 0]
    exact = Distribution(np.array([1, 2, 0]), np.array([0.5, 0.25, 0.25]), False)   # an edge belongs to the next slice
    assert [decoding.choose(exact, c) for c in (0.4999, 0.5, 0.75)] == [1, 2, 0]


def test_a_zero_probability_token_is_never_chosen():
    """A coin past the last edge (rounding) takes the last token with a nonzero probability."""
    d = Distribution(np.array([3, 1, 2]), np.array([0.5, 0.4999999, 0.0]), False)
    assert decoding.choose(d, 0.99999999) == 1
    masked = np.array([0.0, 5.0, -np.inf, 4.0, -np.inf])
    rng = XorShift(3)
    assert {decoding.sample(masked, rng, 2.0) for _ in range(2000)} == {0, 1, 3}


def test_frequencies_follow_the_probabilities():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    rng = XorShift(7)
    draws = [decoding.sample(np.log(p), rng) for _ in range(40_000)]
    assert np.allclose(np.bincount(draws, minlength=4) / len(draws), p, atol=0.01)
    cut = [decoding.sample(np.log(p), rng, top_p=0.6) for _ in range(10_000)]   # keeps 3 and 2: 0.4 : 0.3
    assert set(cut) == {2, 3} and abs(cut.count(3) / len(cut) - 4 / 7) < 0.02


SETTINGS = [(1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.9), (0.5, 40, 0.5), (0.0, 0, 1.0), (2.0, 1, 1.0),
            (0.05, 0, 0.99), (1.0, 1000, 0.3)]


@pytest.mark.parametrize("temperature,top_k,top_p", SETTINGS)
def test_rows_at_once_equal_one_row_at_a_time(temperature, top_k, top_p):
    r = np.random.default_rng(int(temperature * 100) + top_k)
    logits = r.normal(0, 3, (64, 512)).astype(np.float32)
    logits[::5, :100] = logits[::5, :1]                      # ties in some rows
    logits[1::7, 200:] = -np.inf                             # masked tokens in others
    batched = decoding.sample_rows(logits, XorShift(11), temperature, top_k, top_p)
    rng = XorShift(11)
    assert batched.tolist() == [decoding.sample(row, rng, temperature, top_k, top_p) for row in logits]


def test_bad_settings_are_refused():
    logits = np.zeros(4)
    for kwargs, words in (({"top_k": -1}, "top_k"), ({"top_k": 1.5}, "top_k"), ({"top_p": 0.0}, "top_p"),
                          ({"top_p": 1.5}, "top_p")):
        with pytest.raises(ValueError, match=words):
            decoding.sample(logits, XorShift(0), **kwargs)
    with pytest.raises(ValueError, match="masked"):
        decoding.sample(np.full(4, -np.inf), XorShift(0), 1.0)


# ---------------------------------------------------------------------------
# The generation loop


@pytest.fixture(scope="module")
def net():
    config = model.GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2, block_size=24)
    return model.init_params(config, seed=1), config


def greedy_reference(params, config, prompt, max_new_tokens, stop_id):
    """One prompt, one token at a time: argmax of the last logits, fed back through the KV cache."""
    logits, kv = model.forward_step(params, config, np.array([prompt]), model.empty_kv(config))
    out = []
    for _ in range(min(max_new_tokens, config.block_size - len(prompt))):
        t = int(np.argmax(logits[0, -1]))
        if t == stop_id:
            break
        out.append(t)
        logits, kv = model.forward_step(params, config, np.array([[t]]), kv)
    return out


def prompts_of(r, n, vocab):
    return [r.integers(0, vocab, int(r.integers(1, 6))).tolist() for _ in range(n)]


def test_greedy_equals_the_argmax_loop(net):
    params, config = net
    prompts = prompts_of(np.random.default_rng(0), 30, config.vocab_size)
    for stop_id in (None, 7):
        got = decoding.generate(params, config, prompts, 30, stop_id, batch=4)
        assert got == [greedy_reference(params, config, p, 30, stop_id) for p in prompts]
    assert all(len(p) + len(o) <= config.block_size for p, o in zip(prompts, got))


def test_sampled_generation_is_reproducible_and_batch_independent(net):
    """Greedy results do not depend on the batch size; a seed gives the same samples twice."""
    params, config = net
    prompts = prompts_of(np.random.default_rng(1), 20, config.vocab_size)
    assert decoding.generate(params, config, prompts, 10, 3, batch=1) == decoding.generate(params, config, prompts,
                                                                                          10, 3)
    kw = {"temperature": 0.9, "top_k": 20, "top_p": 0.95}
    a = decoding.generate(params, config, prompts, 10, 3, rng=XorShift(5), **kw)
    assert a == decoding.generate(params, config, prompts, 10, 3, rng=XorShift(5), **kw)
    assert a != decoding.generate(params, config, prompts, 10, 3, rng=XorShift(6), **kw)
    with pytest.raises(ValueError, match="rng"):
        decoding.generate(params, config, prompts, 10, 3, temperature=1.0)


def test_one_prompt_draws_one_coin_per_token(net):
    """A single prompt's sample equals sample() on its logits with the same XorShift: what run.py and the page do."""
    params, config = net
    prompt = [5, 9, 2]
    got = decoding.generate(params, config, [prompt], 12, None, temperature=1.2, top_k=10, rng=XorShift(9))[0]
    rng, out = XorShift(9), []
    logits, kv = model.forward_step(params, config, np.array([prompt]), model.empty_kv(config))
    for _ in range(12):
        out.append(decoding.sample(logits[0, -1], rng, 1.2, 10))
        logits, kv = model.forward_step(params, config, np.array([out[-1:]]), kv)
    assert got == out


def test_mask_fn_is_respected(net):
    params, config = net
    prompts = prompts_of(np.random.default_rng(2), 12, config.vocab_size)
    seen = []

    def even_then_stop(i, ids):
        seen.append(i)
        allowed = np.arange(config.vocab_size) % 2 == 0
        return allowed if len(ids) < 4 else np.arange(config.vocab_size) == 1   # then only the stop token

    for temperature in (0.0, 1.5):
        outs = decoding.generate(params, config, prompts, 10, 1, temperature=temperature, rng=XorShift(0),
                                 mask_fn=even_then_stop)
        assert all(len(o) == 4 and all(t % 2 == 0 for t in o) for o in outs)
    assert set(seen) == set(range(len(prompts)))
    with pytest.raises(ValueError, match="allows no token"):
        decoding.generate(params, config, prompts, 3, 1, mask_fn=lambda i, ids: np.zeros(config.vocab_size, bool))


def test_logprobs_are_the_models_own(net):
    """Each produced token's log-probability equals the log-softmax of a full forward, before temperature."""
    params, config = net
    prompts = prompts_of(np.random.default_rng(3), 10, config.vocab_size)
    outs, logps = decoding.generate(params, config, prompts, 8, 2, temperature=1.7, top_k=30, rng=XorShift(1),
                                    with_logprobs=True, keep_stop=True)
    stopped = 0
    for p, o, lp in zip(prompts, outs, logps):
        assert len(o) == len(lp) and 2 not in o[:-1]
        stopped += o[-1:] == [2]
        logits = model.forward(params, config, np.array([p + o]))["logits"][0]
        want = decoding.log_softmax(logits[len(p) - 1:-1])[np.arange(len(o)), o]
        assert np.allclose(lp, want, atol=1e-4)
    without = decoding.generate(params, config, prompts, 8, 2, temperature=1.7, top_k=30, rng=XorShift(1))
    assert without == [o[:-1] if o[-1:] == [2] else o for o in outs]


def test_bad_prompts_are_refused(net):
    params, config = net
    for prompts in ([[]], [[1] * (config.block_size + 1)]):
        with pytest.raises(ValueError, match="prompt"):
            decoding.generate(params, config, prompts, 4, None)
