"""Export the numpy GPT to one ONNX graph (built with onnx.helper, no PyTorch).

The graph runs one forward pass over new tokens given the cached keys and
values of the tokens before them, so one graph serves both prefill (the whole
prompt, empty past) and decoding (one token, the past so far).

Inputs
  input_ids        int64   [B, T]                          the new tokens (B = 1 in the browser)
  past_key_values  float32 [n_layer, 2, B, n_head, P, head_dim]
                   keys (index 0) and values (index 1) of the P earlier tokens;
                   P = 0 for the first call (a tensor with a zero-length axis)
Outputs
  logits           float32 [B, T, vocab_size]              next-token scores at every new position
  present_key_values float32 [n_layer, 2, B, n_head, P + T, head_dim]
                   feed back as past_key_values on the next call
  attentions       float32 [n_layer, B, n_head, T, P + T]  attention probabilities of the new queries
                   over all keys (rows sum to 1; zero above the causal diagonal)
  lens_hidden      float32 [B, n_layer, n_embd]            for the logit lens, at the last new position:
                   the final LayerNorm applied to the residual stream after each block;
                   lens_hidden @ wte.T is what the model would predict if it stopped
                   there (block n_layer - 1 gives that position's logits)

Positions are P .. P + T - 1, read from the shape of past_key_values, so the
caller never passes them. P + T must not exceed block_size: past that, drop
the oldest tokens and prefill again (that is the context window).

Metadata (model.metadata_props): vocab_size, n_layer, n_embd, n_head,
block_size, eot_id (if given), and format "llm-guide-gpt-v1".

Standard ONNX operators only (opset 17, IR version 8: Gather, MatMul, Add,
LayerNormalization, Softmax, Tanh, ...), so onnxruntime-web's wasm backend runs it.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from model_export import model

OPSET = 17
IR_VERSION = 8


class GraphBuilder:
    """Collects nodes and initializers; each op method returns its output's name."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, hint=None, outputs=None, **attrs):
        outputs = outputs or [self.fresh(hint or op_type.lower())]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs


def build_graph(params, config: model.GPTConfig, reward_head: bool = False) -> onnx.GraphProto:
    g = GraphBuilder()
    if reward_head:  # the reward model scores whole conversations: no past, an empty one made inside
        g.const("kv_dims_front", np.array([config.n_layer, 2], np.int64))
        g.const("kv_dims_back", np.array([config.n_head, 0, config.head_dim], np.int64))
        batch = g.op("Shape", ["input_ids"], "batch", start=0, end=1)
        g.op("ConstantOfShape", [g.op("Concat", ["kv_dims_front", batch, "kv_dims_back"], axis=0)],
             outputs=["past_key_values"], value=numpy_helper.from_array(np.zeros(1, np.float32)))
    C, H, D, L = config.n_embd, config.n_head, config.head_dim, config.n_layer
    f32 = lambda a: np.asarray(a, dtype=np.float32)

    # shapes -> positions and the causal mask
    g.const("zero", np.array(0, np.int64))
    g.const("one", np.array(1, np.int64))
    g.const("axis0", np.array([0], np.int64))
    g.const("axis1", np.array([1], np.int64))
    past_len = g.op("Squeeze", [g.op("Shape", ["past_key_values"], start=4, end=5), "axis0"], "past_len")
    new_len = g.op("Squeeze", [g.op("Shape", ["input_ids"], start=1, end=2), "axis0"], "new_len")
    total_len = g.op("Add", [past_len, new_len], "total_len")
    q_pos = g.op("Range", [past_len, total_len, "one"], "positions")        # [T]: P .. P+T-1
    k_pos = g.op("Range", ["zero", total_len, "one"], "key_positions")      # [P+T]
    allowed = g.op("LessOrEqual", [k_pos, g.op("Unsqueeze", [q_pos, "axis1"])], "allowed")  # [T, P+T]
    mask = g.op("Where", [allowed, g.const("mask_open", f32(0.0)), g.const("mask_closed", f32(-1e9))], "mask")

    # embeddings
    x = g.op("Add", [g.op("Gather", [g.const("wte", f32(params["wte"])), "input_ids"], axis=0),
                     g.op("Gather", [g.const("wpe", f32(params["wpe"])), q_pos], axis=0)], "x")

    heads_shape = g.const("heads_shape", np.array([0, 0, H, D], np.int64))   # 0 = keep that axis
    merged_shape = g.const("merged_shape", np.array([0, 0, C], np.int64))
    presents, attentions, residuals = [], [], []  # residuals: the stream after each block
    for layer in range(L):
        p = f"h{layer}."
        w = lambda name, arr: g.const(p + name, f32(arr))

        def linear(inp, wname, bname, W, b):
            return g.op("Add", [g.op("MatMul", [inp, w(wname, W)]), w(bname, b)])

        def heads(t):  # [B, T, C] -> [B, H, T, D]
            return g.op("Transpose", [g.op("Reshape", [t, heads_shape])], perm=[0, 2, 1, 3])

        a = g.op("LayerNormalization", [x, w("ln1.g", params[p + "ln1.g"]), w("ln1.b", params[p + "ln1.b"])],
                 f"ln1_{layer}", axis=-1, epsilon=1e-5)
        # q, k, v as three matrices; 1/sqrt(head_dim) folded into the query weights
        Wqkv, bqkv = params[p + "attn.w_qkv"], params[p + "attn.b_qkv"]
        scale = 1.0 / math.sqrt(D)
        q = heads(linear(a, "attn.w_q", "attn.b_q", Wqkv[:, :C] * scale, bqkv[:C] * scale))
        k_new = heads(linear(a, "attn.w_k", "attn.b_k", Wqkv[:, C:2 * C], bqkv[C:2 * C]))
        v_new = heads(linear(a, "attn.w_v", "attn.b_v", Wqkv[:, 2 * C:], bqkv[2 * C:]))
        past = g.op("Gather", ["past_key_values", g.const(f"layer{layer}", np.array(layer, np.int64))], axis=0)
        k = g.op("Concat", [g.op("Gather", [past, "zero"], axis=0), k_new], f"k{layer}", axis=2)  # [B, H, P+T, D]
        v = g.op("Concat", [g.op("Gather", [past, "one"], axis=0), v_new], f"v{layer}", axis=2)
        scores = g.op("Add", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), mask])
        probs = g.op("Softmax", [scores], f"attn{layer}", axis=-1)            # [B, H, T, P+T]
        y = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merged_shape])
        x = g.op("Add", [x, linear(y, "attn.w_proj", "attn.b_proj", params[p + "attn.w_proj"], params[p + "attn.b_proj"])])

        m = g.op("LayerNormalization", [x, w("ln2.g", params[p + "ln2.g"]), w("ln2.b", params[p + "ln2.b"])],
                 f"ln2_{layer}", axis=-1, epsilon=1e-5)
        h = linear(m, "mlp.w_fc", "mlp.b_fc", params[p + "mlp.w_fc"], params[p + "mlp.b_fc"])
        # GELU, tanh approximation: 0.5 h (1 + tanh(sqrt(2/pi) (h + 0.044715 h^3)))
        h3 = g.op("Mul", [g.op("Mul", [h, h]), h])
        inner = g.op("Mul", [g.op("Add", [h, g.op("Mul", [h3, g.const(p + "gelu_c", f32(0.044715))])]),
                             g.const(p + "gelu_k", f32(math.sqrt(2 / math.pi)))])
        gate = g.op("Mul", [g.op("Add", [g.op("Tanh", [inner]), g.const(p + "gelu_one", f32(1.0))]),
                            g.const(p + "gelu_half", f32(0.5))])
        act = g.op("Mul", [h, gate], f"gelu{layer}")
        x = g.op("Add", [x, linear(act, "mlp.w_proj", "mlp.b_proj", params[p + "mlp.w_proj"], params[p + "mlp.b_proj"])])

        presents.append(g.op("Concat", [g.op("Unsqueeze", [k, "axis0"]), g.op("Unsqueeze", [v, "axis0"])], axis=0))
        attentions.append(g.op("Unsqueeze", [probs, "axis0"]))
        residuals.append(x)

    hidden = g.op("LayerNormalization", [x, g.const("ln_f.g", f32(params["ln_f.g"])), g.const("ln_f.b", f32(params["ln_f.b"]))],
                  "ln_f", axis=-1, epsilon=1e-5)
    g.op("MatMul", [hidden, g.op("Transpose", ["wte"], perm=[1, 0])], outputs=["logits"])  # tied output projection
    if reward_head:
        return reward_outputs(g, params, config, hidden, new_len)
    # logit lens: the final LayerNorm applied to the residual stream after each block, at
    # the last new position only; times wte.T (done by the caller, when asked) it gives
    # what the model would predict if it stopped after that block. The head's matmul
    # stays out of the graph: every decoding step would pay for it, asked or not.
    g.const("last_start", np.array([-1], np.int64))
    g.const("last_end", np.array([np.iinfo(np.int64).max], np.int64))
    at_last = [g.op("Slice", [r, "last_start", "last_end", "axis1"]) for r in residuals]  # [B, 1, C] each
    g.op("LayerNormalization", [g.op("Concat", at_last, axis=1), "ln_f.g", "ln_f.b"], outputs=["lens_hidden"], axis=-1, epsilon=1e-5)
    g.op("Concat", [g.op("Unsqueeze", [t, "axis0"]) for t in presents], outputs=["present_key_values"], axis=0)
    g.op("Concat", attentions, outputs=["attentions"], axis=0)

    B, P, T = "batch", "past_sequence", "sequence"
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [B, T]),
              helper.make_tensor_value_info("past_key_values", TensorProto.FLOAT, [L, 2, B, H, P, D])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [B, T, config.vocab_size]),
               helper.make_tensor_value_info("present_key_values", TensorProto.FLOAT, [L, 2, B, H, "total_sequence", D]),
               helper.make_tensor_value_info("attentions", TensorProto.FLOAT, [L, B, H, T, "total_sequence"]),
               helper.make_tensor_value_info("lens_hidden", TensorProto.FLOAT, [B, L, C])]
    return helper.make_graph(g.nodes, "tiny_gpt", inputs, outputs, initializer=g.inits)


def reward_outputs(g: GraphBuilder, params, config: model.GPTConfig, hidden: str, new_len: str) -> onnx.GraphProto:
    """The reward model's head (reward.reward_forward): reward = w . hidden[last]
    + b + u * confidence, where confidence is the mean log-probability of the
    tokens from answer_start on (each predicted from the position before it)."""
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    last = g.op("Sub", [new_len, "one"], "last")
    h_last = g.op("Gather", [hidden, last], "h_last", axis=1)                           # [B, C]
    from_hidden = g.op("MatMul", [h_last, g.const("reward.w", f32(params["reward.w"]))])  # [B]
    logp = g.op("LogSoftmax", ["logits"], "logp", axis=-1)                                # [B, T, V]
    g.const("starts0", np.array([0], np.int64))
    g.const("starts1", np.array([1], np.int64))
    g.const("ends_last", np.array([-1], np.int64))
    g.const("ends_all", np.array([np.iinfo(np.int64).max], np.int64))
    predicted = g.op("Slice", [logp, "starts0", "ends_last", "axis1"], "predicted")     # positions 0 .. T-2
    nexts = g.op("Unsqueeze", [g.op("Slice", ["input_ids", "starts1", "ends_all", "axis1"]), g.const("axis2", np.array([2], np.int64))])
    token_logp = g.op("Squeeze", [g.op("GatherElements", [predicted, nexts], axis=2), "axis2"], "token_logp")  # [B, T-1]
    positions = g.op("Unsqueeze", [g.op("Range", ["zero", last, "one"]), "axis0"])          # [1, T-1]
    first = g.op("Unsqueeze", [g.op("Sub", ["answer_start", "one"]), "axis1"])             # [B, 1]
    in_answer = g.op("Cast", [g.op("GreaterOrEqual", [positions, first])], to=TensorProto.FLOAT)
    total = g.op("ReduceSum", [g.op("Mul", [token_logp, in_answer]), "axis1"], keepdims=0)
    g.op("Div", [total, g.op("ReduceSum", [in_answer, "axis1"], keepdims=0)], outputs=["confidence"])
    g.op("Add", [g.op("Add", [from_hidden, g.const("reward.b", f32(params["reward.b"][0]))]),
                 g.op("Mul", ["confidence", g.const("reward.u", f32(params["reward.u"][0]))])], outputs=["reward"])
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
              helper.make_tensor_value_info("answer_start", TensorProto.INT64, ["batch"])]
    outputs = [helper.make_tensor_value_info("reward", TensorProto.FLOAT, ["batch"]),
               helper.make_tensor_value_info("confidence", TensorProto.FLOAT, ["batch"])]
    return helper.make_graph(g.nodes, "tiny_gpt_reward", inputs, outputs, initializer=g.inits)


def to_onnx(params, config: model.GPTConfig, eot_id: int | None = None) -> onnx.ModelProto:
    """The language model; or, for params with a reward head (reward.reward_init),
    the reward model: inputs input_ids [B, T] (whole conversations of equal
    length) and answer_start [B] (the index of each answer's first token),
    outputs reward [B] and confidence [B]."""
    reward = "reward.w" in params
    m = helper.make_model(build_graph(params, config, reward_head=reward), opset_imports=[helper.make_opsetid("", OPSET)],
                          ir_version=IR_VERSION, producer_name="llm-guide model_export")
    meta = dict(config.to_dict(), format="llm-guide-reward-v1" if reward else "llm-guide-gpt-v1")
    if eot_id is not None:
        meta["eot_id"] = eot_id
    helper.set_model_props(m, {k: str(v) for k, v in meta.items()})
    onnx.checker.check_model(m, full_check=True)
    return m


def export(params, config: model.GPTConfig, path, eot_id: int | None = None) -> None:
    onnx.save(to_onnx(params, config, eot_id), str(path))


def session(path_or_model):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    data = path_or_model.SerializeToString() if isinstance(path_or_model, onnx.ModelProto) else str(path_or_model)
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def run_onnx(sess, input_ids, past, lens=False):
    names = ["logits", "present_key_values", "attentions"] + (["lens_hidden"] if lens else [])
    return sess.run(names, {"input_ids": np.asarray(input_ids, np.int64), "past_key_values": past.astype(np.float32)})


def parity(sess, params, config: model.GPTConfig, sequences, prefill: int | None = None) -> float:
    """Largest |numpy - onnxruntime| over logits, present keys/values,
    attentions and the logit lens, for each sequence run as a prefill of
    `prefill` tokens (all of them if None) followed by single-token steps."""
    worst = 0.0
    for seq in sequences:
        seq = np.asarray(seq, np.int64)[None, :]
        n = seq.shape[1] if prefill is None else max(1, min(prefill, seq.shape[1]))
        past_np = past_ort = model.empty_kv(config, 1)
        for start, stop in [(0, n)] + [(t, t + 1) for t in range(n, seq.shape[1])]:
            chunk = seq[:, start:stop]
            ref = model.forward_step(params, config, chunk, past_np, return_attn=True)
            *got, lens_hidden = run_onnx(sess, chunk, past_ort, lens=True)
            got.append((lens_hidden @ params["wte"].T).transpose(1, 0, 2))          # the head, as the page applies it
            ref = (*ref, model.logit_lens(params, config, seq[:, :stop])[:, :, -1])  # the lens reads the whole prefix
            worst = max(worst, *(float(np.max(np.abs(a - b))) for a, b in zip(ref, got)))
            past_np, past_ort = ref[1], got[1]
    return worst


def reward_feed(batch) -> dict:
    """The reward graph's inputs for a reward.reward_batch output: the token ids, and
    each row's answer_start, one past the first position whose prediction the
    confidence averages (that position predicts the answer's first token)."""
    x, _, avg, _ = batch
    return {"input_ids": x, "answer_start": (np.argmax(avg > 0, axis=1) + 1).astype(np.int64)}


def reward_parity(sess, reward_fn, batches) -> float:
    """Largest |numpy - onnxruntime| over reward and confidence. batches are
    reward.reward_batch outputs whose rows have equal length (no padding);
    reward_fn(batch) -> (rewards, confidences) is the numpy reward model."""
    worst = 0.0
    for batch in batches:
        r, confidence = reward_fn(batch)
        got = sess.run(["reward", "confidence"], reward_feed(batch))
        worst = max(worst, float(np.max(np.abs(got[0] - r))), float(np.max(np.abs(got[1] - confidence))))
    return worst
