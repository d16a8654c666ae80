"""ONNX export: the checker passes and onnxruntime matches the numpy forward."""

import numpy as np
import onnx
import pytest

from model_export import export, model

TINY = model.GPTConfig(vocab_size=40, n_layer=2, n_embd=16, n_head=2, block_size=24)


@pytest.fixture(scope="module")
def smoke_dir():
    from model_export.build import ensure_artifacts
    return ensure_artifacts("smoke", log=None)


@pytest.fixture(scope="module")
def tiny():
    params = model.init_params(TINY, seed=0)
    flat = model.flat_of(params)
    flat += np.random.default_rng(0).normal(size=flat.shape).astype(np.float32) * 0.2  # not the symmetric init
    onnx_model = export.to_onnx(params, TINY, eot_id=7)
    return params, onnx_model, export.session(onnx_model)


def test_checker_and_interface(tiny):
    _, m, sess = tiny
    onnx.checker.check_model(m, full_check=True)
    assert m.opset_import[0].version == export.OPSET and m.ir_version == export.IR_VERSION
    ops = {n.op_type for n in m.graph.node}
    assert all(d.domain in ("", "ai.onnx") for d in m.opset_import)
    assert ops <= {"Shape", "Squeeze", "Unsqueeze", "Add", "Range", "LessOrEqual", "Where", "Gather", "Reshape",
                   "Transpose", "LayerNormalization", "MatMul", "Concat", "Softmax", "Mul", "Tanh", "Slice"}
    assert [i.name for i in sess.get_inputs()] == ["input_ids", "past_key_values"]
    assert [o.name for o in sess.get_outputs()] == ["logits", "present_key_values", "attentions", "lens_hidden"]
    meta = sess.get_modelmeta().custom_metadata_map
    assert int(meta["block_size"]) == TINY.block_size and int(meta["eot_id"]) == 7
    assert all(init.data_type == onnx.TensorProto.FLOAT for init in m.graph.initializer if init.name.startswith("h0."))


def test_parity_random_inputs(tiny):
    params, _, sess = tiny
    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, TINY.vocab_size, size=n) for n in (1, 7, TINY.block_size)]
    assert export.parity(sess, params, TINY, seqs) < 1e-4               # one prefill each
    assert export.parity(sess, params, TINY, seqs, prefill=3) < 1e-4    # prefill, then single steps
    assert export.parity(sess, params, TINY, seqs, prefill=1) < 1e-4    # token by token


def test_outputs_match_full_forward(tiny):
    params, _, sess = tiny
    ids = np.random.default_rng(2).integers(0, TINY.vocab_size, size=(1, 10))
    logits, present, attn = export.run_onnx(sess, ids, model.empty_kv(TINY))
    full = model.forward(params, TINY, ids, return_attn=True)
    np.testing.assert_allclose(logits, full["logits"], atol=1e-4)
    np.testing.assert_allclose(attn, full["attn"], atol=1e-5)
    assert present.shape == (TINY.n_layer, 2, 1, TINY.n_head, 10, TINY.head_dim)
    np.testing.assert_allclose(attn.sum(-1), 1.0, atol=1e-5)


def test_logit_lens_matches_numpy_and_its_last_layer_is_the_prediction(tiny):
    """lens_hidden [B, n_layer, C]: the final LayerNorm applied after each block at
    the last position; times the tied head it is model.logit_lens, and its last
    layer is the model's actual prediction (the logits; in numpy exactly)."""
    params, _, sess = tiny
    rng = np.random.default_rng(4)
    ids = rng.integers(0, TINY.vocab_size, size=(2, 9))
    lens = model.logit_lens(params, TINY, ids)
    assert lens.shape == (TINY.n_layer, 2, 9, TINY.vocab_size)
    assert np.array_equal(lens[-1], model.forward(params, TINY, ids)["logits"])
    assert not np.allclose(lens[0], lens[-1])                            # an earlier depth really is earlier
    head = params["wte"].T
    logits, present, _, hidden = export.run_onnx(sess, ids, model.empty_kv(TINY, 2), lens=True)
    assert hidden.shape == (2, TINY.n_layer, TINY.n_embd)
    np.testing.assert_allclose(hidden @ head, lens[:, :, -1].transpose(1, 0, 2), atol=1e-4)
    np.testing.assert_allclose(hidden[:, -1] @ head, logits[:, -1], atol=1e-5)
    # after a KV-cache step the lens reads the new token's position, with the past in view
    step = rng.integers(0, TINY.vocab_size, size=(2, 1))
    logits, _, _, hidden = export.run_onnx(sess, step, present, lens=True)
    want = model.logit_lens(params, TINY, np.concatenate([ids, step], 1))[:, :, -1]
    np.testing.assert_allclose(hidden @ head, want.transpose(1, 0, 2), atol=1e-4)
    np.testing.assert_allclose(hidden[:, -1] @ head, logits[:, -1], atol=1e-5)


def test_parity_real_text(smoke_dir):
    """The smoke artifacts: numpy and onnxruntime agree on real corpus text."""
    from model_export.tokenizer import Tokenizer
    from model_export.world import make_world, pretrain_documents
    params, cfg = model.load_params(smoke_dir / "params.npz")
    tok = Tokenizer.load(smoke_dir / "tokenizer.json")
    docs = pretrain_documents(make_world(0), "val")[:3]
    seqs = [tok.encode(d)[:cfg.block_size] for d in docs] + [tok.encode("The capital of France is")]
    sess = export.session(smoke_dir / "model.onnx")
    assert export.parity(sess, params, cfg, seqs) < 1e-4
    assert export.parity(sess, params, cfg, seqs, prefill=5) < 1e-4


def test_reward_model_parity():
    """The reward model (backbone + head reading the last hidden state and the
    answer's mean log-probability) gives onnxruntime's reward and confidence."""
    from model_export import reward
    rm = reward.reward_init(model.init_params(TINY, seed=0), TINY)
    flat = model.flat_of(rm)
    rng = np.random.default_rng(3)
    flat += rng.normal(size=flat.shape).astype(np.float32) * 0.2
    m = export.to_onnx(rm, TINY, eot_id=7)
    onnx.checker.check_model(m, full_check=True)
    sess = export.session(m)
    assert [i.name for i in sess.get_inputs()] == ["input_ids", "answer_start"]
    assert [o.name for o in sess.get_outputs()] == ["reward", "confidence"]
    assert sess.get_modelmeta().custom_metadata_map["format"] == "llm-guide-reward-v1"

    def batch(rows, T, starts):  # equal-length conversations; the answer runs from start to the end
        x = rng.integers(0, TINY.vocab_size, size=(rows, T))
        y = np.zeros_like(x)
        y[:, :-1] = x[:, 1:]
        avg = np.zeros(x.shape)
        for i, s in enumerate(starts):
            avg[i, s - 1:T - 1] = 1.0 / (T - s)
        return x, y, avg, np.full(rows, T - 1)

    batches = [batch(1, 2, [1]), batch(1, 9, [4]), batch(3, TINY.block_size, [1, 10, 23])]
    assert export.reward_parity(sess, lambda b: reward.reward_forward(rm, TINY, b)[0:3:2], batches) < 1e-4
    # the confidence really is the answer's mean log-probability
    x, _, avg, _ = batches[1]
    logits = model.forward(rm, TINY, x)["logits"][0].astype(np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)
    want = np.mean([logp[t - 1, x[0, t]] for t in range(4, 9)])
    got = sess.run(["confidence"], {"input_ids": x, "answer_start": np.array([4])})[0]
    assert got[0] == pytest.approx(want, abs=1e-4)


def test_onnx_holds_the_parameter_files_numbers(smoke_dir):
    """model.onnx = the numbers of model.safetensors + the graph: every tensor is
    there by name, except that each w_qkv/b_qkv is split into query, key and
    value, with attention's 1/sqrt(head_dim) scale folded into the query's."""
    import json
    import math
    from onnx import numpy_helper
    from model_export import safetensors
    for ck in ("model", "sft"):
        onnx_file = "model.onnx" if ck == "model" else f"model_{ck}.onnx"
        init = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(smoke_dir / onnx_file)).graph.initializer}
        tensors, meta = safetensors.load(smoke_dir / onnx_file.replace(".onnx", ".safetensors"))
        cfg = model.GPTConfig(**json.loads(meta["config"]))
        scale = 1 / math.sqrt(cfg.head_dim)
        for name, t in tensors.items():
            if name.endswith("attn.w_qkv") or name.endswith("attn.b_qkv"):
                p = name.rsplit("_", 1)[0]                          # "h0.attn.w" or "h0.attn.b"
                q, k, v = np.split(t, 3, axis=-1)
                np.testing.assert_allclose(init[f"{p}_q"], q * scale, rtol=1e-6)
                assert np.array_equal(init[f"{p}_k"], k) and np.array_equal(init[f"{p}_v"], v), name
            else:
                assert np.array_equal(init[name], t), name
