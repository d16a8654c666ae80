"""Stage 9: the files the site ships, checked, and report.json, which tells what happened.

For every checkpoint: its numpy weights (params*.npz), its ONNX graph
(model*.onnx; numpy and onnxruntime must agree on real text and random
tokens, as one prefill and as a prefill then single steps) and its
parameter file for run.py (model*.safetensors; run.py must give numpy's and
onnxruntime's logits and numpy's greedy text). Then the reward model's graph,
the tokenizer, the agent's search index, run.py itself, and the report that
gathers every stage's figures.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx

from model_export import decoding, export, model, reward, safetensors
from model_export import run as run_file
from model_export.chat import encode_prompt
from model_export.checkpoints import CHECKPOINTS, REWARD_MODEL
from model_export.stages import common

INPUTS = ("corpus", "pretrain", "sft", "preferences", "reward", "rl", "evaluate", "agent")
CODE_DIR = Path(__file__).resolve().parents[1]

FLASH_FLOOD_PROMPT = "A flash flood watch will be in effect all"
FLASH_FLOOD_WORDS = [" night", " day", " morning", " evening", " afternoon", " weekend", " week", " giraffe"]
SAMPLE_PROMPTS = ["The capital of France is", "Lionel Messi plays for", "The king", "Weather bulletin for Paris.",
                  "The code for the locker is 4817. Remember, the code is"]
CHAT_PROMPTS = ["What is the capital of Norway?", "Which club does Lionel Messi play for?", "What is the capital of Zorvania?"]
RUN_FILE_TOLERANCE = 1e-4  # largest |run.py - numpy| and |run.py - onnxruntime| a logit may show
# run.py's command lines the page shows with their real output (arguments after "python run.py")
RUN_EXAMPLES = [["model.safetensors", "The capital of France is"],
                ["model_sft.safetensors", "--chat", "What is the capital of Norway?"]]


def settings(prof) -> dict:
    return {"profile": prof.name, "model": prof.model, "pretrain": prof.pretrain, "align": prof.align,
            "curve_every": prof.curve_every, "parity_sequences": prof.parity_sequences,
            "world_seed": prof.world_seed}


def run(ctx) -> None:
    s = ctx.settings
    config, out, tok = s["model"], ctx.out, common.tokenizer(ctx)
    world = common.world(s["world_seed"])
    weights = {"model": common.params(ctx, "pretrain"), "sft": common.params(ctx, "sft"),
               "rlhf": common.params(ctx, "rl"), "agent": common.params(ctx, "agent")}
    tok.save(out / "tokenizer.json")
    shutil.copy(ctx.inputs["agent"] / "knowledge.json", out / "knowledge.json")
    shutil.copy(CODE_DIR / "run.py", out / "run.py")

    # numpy and onnxruntime must agree, for every checkpoint: on real text and
    # on random tokens, as one prefill and as a short prefill then single steps
    val_tokens = common.tokens(ctx, "val")
    rng = np.random.default_rng(0)
    T = config.block_size
    real = [val_tokens[i:i + T] for i in rng.integers(0, len(val_tokens) - T, s["parity_sequences"])]
    rand = [rng.integers(0, config.vocab_size, T) for _ in range(s["parity_sequences"])]
    checkpoints = []
    for ck in CHECKPOINTS:
        p = weights[ck["name"]]
        model.save_params(out / ck["params"], p, config)
        safetensors.save_checkpoint(out / ck["safetensors"], p, config, tok, ck["name"])
        onnx.save(export.to_onnx(p, config, eot_id=tok.eot_id), str(out / ck["file"]))
        sess = export.session(out / ck["file"])
        diff = max(export.parity(sess, p, config, real + rand),
                   export.parity(sess, p, config, [real[0][:T // 4], rand[0][:T // 4]], prefill=4))
        assert diff < 1e-4, f"{ck['file']}: onnxruntime differs from numpy by {diff}"
        checkpoints.append({**ck, "bytes": (out / ck["file"]).stat().st_size, "max_abs_diff_vs_numpy": diff})
        if ck["name"] == "model":
            base_diff, base_sess = diff, sess
    run_report = check_run_file(out, config, tok, weights, real + rand)

    # the reward model, checked on the answers the report shows it scoring
    rm = reward.load_reward_model(ctx.inputs["reward"] / "params.npz")
    onnx.save(export.to_onnx(rm, config, eot_id=tok.eot_id), str(out / REWARD_MODEL))
    rm_report = common.read(ctx, "reward")
    scored = [(ex["question"], a["answer"]) for ex in rm_report["examples"] for a in ex["answers"]] \
        or [("What is the capital of France?", "Paris.")]
    reward_diff = export.reward_parity(export.session(out / REWARD_MODEL),
                                       lambda b: reward.reward_forward(rm, config, b)[0:3:2],
                                       [reward.reward_batch(tok, config, [q], [a]) for q, a in scored])
    assert reward_diff < 1e-4, f"{REWARD_MODEL}: onnxruntime differs from numpy by {reward_diff}"

    corpus, hist = common.read(ctx, "corpus"), common.read(ctx, "pretrain")
    evaluated = common.read(ctx, "evaluate")
    seconds = {name: common.read(ctx, name, "stage.json")["seconds"] for name in INPUTS}
    align_stages = ("sft", "preferences", "reward", "rl", "evaluate")
    report = {
        "profile": s["profile"], "hash": ctx.key,
        "model": config.to_dict(), "n_params": model.num_params(config),
        "pretrain": s["pretrain"].to_dict(),
        "corpus": {**corpus, "epochs": round(s["pretrain"].steps * s["pretrain"].batch_size * T
                                             / corpus["train_tokens"], 2)},
        "tokenizer": {"vocab_size": tok.vocab_size, "eot_id": tok.eot_id,
                      "example": [tok.decode([i]) for i in tok.encode("The capital of France is Paris.")]},
        "loss_curve": loss_curve(hist, s["curve_every"]),
        "eval_curve": {"step": [i + 1 for i in hist["eval_step"]], "train": [e["train"] for e in hist["eval"]],
                       "val": [e["val"] for e in hist["eval"]]},
        "abilities": hist["abilities"],
        "final": {"train_loss": hist["eval"][-1]["train"], "val_loss": hist["eval"][-1]["val"],
                  "uniform_loss": math.log(config.vocab_size)},
        "capitals": capital_accuracy(weights["model"], config, tok, world),
        "flash_flood": next_token_candidates(weights["model"], config, tok, FLASH_FLOOD_PROMPT, FLASH_FLOOD_WORDS),
        "samples": [{"prompt": p, "completion": tok.decode(decoding.generate(
            weights["model"], config, [tok.encode(p)], 24, tok.eot_id)[0])} for p in SAMPLE_PROMPTS],
        "onnx": {"opset": export.OPSET, "bytes": (out / "model.onnx").stat().st_size,
                 "max_abs_diff_vs_numpy": base_diff, "ops": graph_ops(out / "model.onnx"),
                 "inputs": {i.name: i.shape for i in base_sess.get_inputs()},
                 "outputs": {o.name: o.shape for o in base_sess.get_outputs()}},
        "align": {"settings": s["align"].to_dict(), "split": evaluated["split"],
                  "sft": common.read(ctx, "sft"), "preferences": common.read(ctx, "preferences"),
                  "reward_model": rm_report, "rl": common.read(ctx, "rl"),
                  "checkpoints": evaluated["checkpoints"], "abstention": evaluated["abstention"],
                  "samples": evaluated["samples"], "requests": evaluated["requests"],
                  "timing": {"sft_seconds": seconds["sft"], "preference_seconds": seconds["preferences"],
                             "reward_seconds": seconds["reward"], "rl_seconds": seconds["rl"],
                             "eval_seconds": seconds["evaluate"],
                             "total_seconds": round(sum(seconds[k] for k in align_stages), 1)}},
        "agent": common.read(ctx, "agent"),
        "checkpoints": checkpoints,
        "run_file": run_report,
        "reward_onnx": {"file": REWARD_MODEL, "bytes": (out / REWARD_MODEL).stat().st_size,
                        "max_abs_diff_vs_numpy": reward_diff},
        # how long each stage took when it last ran, and on what (float sums depend on the BLAS kernels)
        "timing": {"ms_per_step": round(hist["ms_per_step"], 2), "pretrain_seconds": round(hist["seconds"], 1),
                   "align_seconds": round(sum(seconds[k] for k in align_stages), 1),
                   "agent_seconds": seconds["agent"], "stages": seconds,
                   "after_pretrain_seconds": round(sum(v for k, v in seconds.items()
                                                       if k not in ("corpus", "pretrain")), 1),
                   "total_seconds": round(sum(seconds.values()), 1), "numpy": np.__version__,
                   "blas": blas_info(), "python": platform.python_version(),
                   "machine": platform.machine(), "cpus": os.cpu_count()},
    }
    report = finite(report)  # NaN (an accuracy over 0 pairs, say) is not JSON; the browser reads this file
    with open(out / "report.json", "w") as f:
        json.dump(report, f, indent=1, allow_nan=False)
    ctx.say(f"val loss {report['final']['val_loss']:.3f}, capitals {report['capitals']['correct']}/"
            f"{report['capitals']['total']}, onnx max diff {max(c['max_abs_diff_vs_numpy'] for c in checkpoints):.1e}, "
            f"run.py max diff {run_report['max_abs_diff_vs_numpy']:.1e}")


def check_run_file(out: Path, config, tok, weights: dict, sequences) -> dict:
    """run.py, reading each .safetensors file the build wrote, must give the numpy
    model's logits and onnxruntime's (within RUN_FILE_TOLERANCE, as one prefill and as a short
    prefill then single steps) and the same greedy text; then run it as a reader
    would, for the page."""
    T = config.block_size
    worst_np = worst_ort = 0.0
    greedy = []
    for ck in CHECKPOINTS:
        params, rf = weights[ck["name"]], run_file.Model(out / ck["safetensors"])
        sess = export.session(out / ck["file"])
        for seq in list(sequences) + [s[:T // 4] for s in sequences[:2]]:
            prefill = len(seq) if len(seq) > T // 4 else 4
            cache, past = run_file.new_cache(rf), model.empty_kv(config)
            for start, stop in [(0, prefill)] + [(t, t + 1) for t in range(prefill, len(seq))]:
                chunk = [int(i) for i in seq[start:stop]]
                got = run_file.forward(rf, chunk, cache)
                ref, past_next = model.forward_step(params, config, np.array([chunk]), past)
                onnx_logits = export.run_onnx(sess, np.array([chunk]), past)[0]
                worst_np = max(worst_np, float(np.abs(got - ref[0]).max()))
                worst_ort = max(worst_ort, float(np.abs(got - onnx_logits[0]).max()))
                past = past_next
        prompts = ([tok.encode(p) for p in SAMPLE_PROMPTS] if ck["name"] == "model" else
                   [run_file.chat_ids(rf.tokenizer, q) for q in CHAT_PROMPTS])
        if ck["name"] != "model":  # the chat format, token for token as the tuned model learned it
            assert prompts == [encode_prompt(tok, q) for q in CHAT_PROMPTS], "run.py's chat ids differ from chat.py's"
        for ids in prompts:
            want = decoding.generate(params, config, [ids], 24, tok.eot_id)[0]
            got = run_file.generate(rf, ids, 24)
            if got != want:  # acceptable only where the two best tokens tie to within float32 rounding
                n = next(i for i, (a, b) in enumerate(zip(got + [-1], want + [-1])) if a != b)
                logits, _ = model.forward_step(params, config, np.array([ids + want[:n]]), model.empty_kv(config))
                top2 = np.sort(logits[0, -1])[-2:]
                assert top2[1] - top2[0] < RUN_FILE_TOLERANCE, \
                    f"{ck['safetensors']}: run.py's greedy text differs from numpy's: {got} vs {want}"
            greedy.append({"checkpoint": ck["name"], "prompt": tok.decode(ids), "completion": tok.decode(got),
                           "same_as_numpy": got == want})
    assert max(worst_np, worst_ort) < RUN_FILE_TOLERANCE, f"run.py differs: {worst_np} from numpy, {worst_ort} from onnxruntime"
    examples = []
    for args in RUN_EXAMPLES:  # the command a reader types, in the folder holding the files
        proc = subprocess.run([sys.executable, "run.py", *args], cwd=out, capture_output=True, text=True,
                              timeout=300, check=True)
        examples.append({"args": args, "output": proc.stdout})
    text = (out / "run.py").read_text(encoding="utf-8")
    return {"lines": len(text.splitlines()), "bytes": len(text.encode("utf-8")),
            "tolerance": RUN_FILE_TOLERANCE, "max_abs_diff_vs_numpy": worst_np, "max_abs_diff_vs_onnx": worst_ort,
            "greedy": greedy,
            "safetensors_bytes": {ck["safetensors"]: (out / ck["safetensors"]).stat().st_size for ck in CHECKPOINTS},
            "examples": examples}


def graph_ops(path: Path) -> dict:
    """How many operations of each kind the ONNX graph lists: what it adds to the numbers."""
    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def blas_info() -> dict:
    """The BLAS library numpy calls (name, version, build configuration): the float sums of
    training depend on it, so a model rebuilt elsewhere can be traced to it."""
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
    except Exception as e:  # an older or unusual numpy build: say so rather than fail the build
        return {"error": f"{type(e).__name__}: {e}"}
    blas = deps.get("blas", {})
    return {k: blas.get(k) for k in ("name", "version", "openblas configuration") if blas.get(k) is not None}


def finite(x):
    """x with every NaN or infinite float replaced by None (null in JSON)."""
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def loss_curve(hist: dict, every: int) -> dict:
    n = len(hist["train_loss"]) // every * every
    losses = np.array(hist["train_loss"][:n]).reshape(-1, every).mean(axis=1)
    return {"step": [every * (i + 1) for i in range(len(losses))], "train_loss": [round(float(x), 4) for x in losses],
            "lr": [hist["lr"][every * (i + 1) - 1] for i in range(len(losses))]}


def capital_accuracy(params, config, tok, world) -> dict:
    """Greedy completion of "The capital of X is" for every country; correct
    when the first generated tokens are exactly the capital's tokens."""
    rows = []
    for prompt, answer in world.capital_prompts():
        want = tok.encode(answer)
        logits, _ = model.forward_step(params, config, np.array([tok.encode(prompt)]), model.empty_kv(config))
        probs = softmax(logits[0, -1])
        got = decoding.generate(params, config, [tok.encode(prompt)], len(want) + 2, tok.eot_id)[0]
        rows.append({"prompt": prompt, "expected": answer, "completion": tok.decode(got),
                     "correct": got[:len(want)] == want, "p_first_token": round(float(probs[want[0]]), 4)})
    correct = sum(r["correct"] for r in rows)
    return {"accuracy": correct / len(rows), "correct": correct, "total": len(rows), "completions": rows}


def next_token_candidates(params, config, tok, prompt, words, k=10) -> dict:
    ids = tok.encode(prompt)
    logits, kv = model.forward_step(params, config, np.array([ids]), model.empty_kv(config))
    probs = softmax(logits[0, -1])
    top = np.argsort(-probs)[:k]
    word_probs = {}
    for w in words:  # P(word) = product of its tokens' probabilities (a word may be several tokens)
        p, cur_probs, cur_kv = 1.0, probs, kv
        for t in tok.encode(w):
            p *= float(cur_probs[t])
            lg, cur_kv = model.forward_step(params, config, np.array([[t]]), cur_kv)
            cur_probs = softmax(lg[0, -1])
        word_probs[w] = p
    return {"prompt": prompt,
            "top": [{"token": tok.decode([int(i)]), "id": int(i), "prob": round(float(probs[i]), 5)} for i in top],
            "words": {w: float(f"{p:.3g}") for w, p in word_probs.items()}}


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()
