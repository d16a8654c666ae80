"""Build the model artifacts once, and reuse them while nothing they depend on changed.

    python -m model_export.build [--profile full|smoke] [--force]

    from model_export.build import ensure_artifacts
    folder = ensure_artifacts("smoke")   # pathlib.Path

The build is a pure function of its code (the model_export modules listed in
BUILD_MODULES: the world, the tokenizer, the model, training, export, this
file) and the profile (config.py). Their content hash names the cache folder,
.cache/model/<profile>-<hash12>/, which holds:

    model.onnx      the generation graph (see export.py for its inputs and outputs)
    model_sft.onnx  the same graph with the instruction-tuned weights (sft.py, align.py)
    model_rlhf.onnx the same graph with the weights after RLHF (align.py)
    model_agent.onnx the same graph tuned on agent transcripts (agent_train.py)
    model_reward.onnx the reward model: whole conversation in, reward and confidence out (align.py)
    tokenizer.json  byte-level BPE (see tokenizer.py for the format and algorithm)
    params.npz      the numpy weights and config (model.load_params)
    params_sft.npz, params_rlhf.npz, params_agent.npz   the same for the tuned checkpoints
    model.safetensors, model_sft.safetensors, model_rlhf.safetensors, model_agent.safetensors
                    the parameter files run.py reads: weights, config and tokenizer (safetensors.py)
    knowledge.json  the agent's search index (agent.knowledge_base), for the page
    report.json     what happened: losses, timings, evaluations (see REPORT_KEYS)
    run.py          the standalone run file (numpy only), checked against numpy and onnxruntime
    build.log       the training log

A hit returns at once. A miss builds in a temporary folder and renames it into
place, so a folder that exists is always complete.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from model_export import model
from model_export.config import PROFILES, Profile

ROOT = Path(__file__).resolve().parents[1]
CODE_DIR = Path(__file__).resolve().parent
CACHE_DIR = ROOT / ".cache" / "model"
FILES = ("model.onnx", "model_sft.onnx", "model_rlhf.onnx", "model_agent.onnx", "model_reward.onnx", "tokenizer.json",
         "params.npz",
         "params_sft.npz", "params_rlhf.npz", "params_agent.npz", "knowledge.json", "report.json", "run.py",
         "model.safetensors", "model_sft.safetensors", "model_rlhf.safetensors", "model_agent.safetensors")
# The checkpoints the build ships, as report.json lists them for the page's model
# switcher (docs/javascripts/model-runtime.js, availableCheckpoints: it reads
# name, file and label; "model" is its name for the pre-trained model.onnx).
CHECKPOINTS = [{"name": "model", "file": "model.onnx", "label": "pre-trained (base)", "params": "params.npz",
                "safetensors": "model.safetensors"},
               {"name": "sft", "file": "model_sft.onnx", "label": "instruction-tuned (SFT)", "params": "params_sft.npz",
                "safetensors": "model_sft.safetensors"},
               {"name": "rlhf", "file": "model_rlhf.onnx", "label": "preference-tuned (RLHF)", "params": "params_rlhf.npz",
                "safetensors": "model_rlhf.safetensors"},
               {"name": "agent", "file": "model_agent.onnx", "label": "agent (tool use)", "params": "params_agent.npz",
                "safetensors": "model_agent.safetensors"}]
FLASH_FLOOD_PROMPT = "A flash flood watch will be in effect all"
FLASH_FLOOD_WORDS = [" night", " day", " morning", " evening", " afternoon", " weekend", " week", " giraffe"]
SAMPLE_PROMPTS = ["The capital of France is", "Lionel Messi plays for", "The king", "Weather bulletin for Paris.",
                  "The code for the locker is 4817. Remember, the code is"]
CHAT_PROMPTS = ["What is the capital of Norway?", "Which club does Lionel Messi play for?", "What is the capital of Zorvania?"]
# run.py's command lines the page shows with their real output (arguments after "python run.py")
RUN_FILE_TOLERANCE = 1e-4  # largest |run.py - numpy| and |run.py - onnxruntime| a logit may show
RUN_EXAMPLES = [["model.safetensors", "The capital of France is"],
                ["model_sft.safetensors", "--chat", "What is the capital of Norway?"]]

REPORT_KEYS = {
    "profile": "profile name", "hash": "the cache key (code + profile)",
    "model": "GPTConfig", "n_params": "parameter count", "pretrain": "TrainConfig",
    "corpus": "documents, tokens and characters per token, train and val",
    "tokenizer": "vocab size, eot id, an example split into pieces",
    "loss_curve": "step, train_loss (mean over curve_every steps), lr",
    "eval_curve": "step, train, val: loss on fixed windows (held-out val text)",
    "final": "train_loss and val_loss at the end; uniform_loss = ln(vocab_size)",
    "abilities": "step, val_loss, and per ability (labels) an exact and a partial score in [0, 1], measured during "
                 "pre-training every abilities_every steps (abilities.py); items: test items per ability; answer_tokens: "
                 "mean tokens per answer; seconds: the time the measurements took, val loss included",
    "timing": "ms_per_step, pretrain_seconds, align_seconds, total_seconds, cpus, numpy version, the BLAS numpy "
              "calls (name, version, configuration), python version and machine",
    "capitals": "accuracy of greedy 'The capital of X is' completions over all countries, with each completion",
    "flash_flood": "next-token top candidates after the prompt, and the probability of each candidate word",
    "samples": "greedy completions of a few prompts",
    "onnx": "opset, size, inputs/outputs, max |numpy - onnxruntime|, operations in the graph (of model.onnx)",
    "align": "SFT, preferences, reward model, RL, and the evaluation of base, SFT and RLHF (align.align_stages)",
    "agent": "tool-use tuning and the agent's evaluation with and without the constraint (agent_train.agent_stage)",
    "checkpoints": "the shipped checkpoints: name, file, label, params file, safetensors file, onnx bytes, "
                   "max |numpy - onnxruntime|",
    "run_file": "run.py: lines, bytes, tolerance and max |run.py - numpy|, |run.py - onnxruntime| over logits, greedy texts "
                "compared with numpy's, each parameter file's bytes, and the output of RUN_EXAMPLES",
    "reward_onnx": "the reward model's graph: file, bytes, max |numpy - onnxruntime| over reward and confidence",
}


# Every model_export module the build runs, directly or through imports. Only
# these are hashed, so editing another module (a later stage still in the works)
# does not retrain the model. A stage added to the build adds its modules here;
# tests/model/test_build.py checks that nothing the build imports is missing.
BUILD_MODULES = ("abilities", "world", "tokenizer", "model", "train", "sft", "align", "agent", "agent_train", "constrain", "export",
                 "config", "build", "run", "safetensors")


def code_hash(profile: Profile) -> str:
    h = hashlib.sha256()
    for name in sorted(BUILD_MODULES):
        path = CODE_DIR / f"{name}.py"
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps(profile.to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def resolve_profile(profile: str | None) -> Profile:
    name = profile or os.environ.get("LLM_GUIDE_PROFILE") or "full"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}")
    return PROFILES[name]


def artifact_dir(profile: str | None = None) -> Path:
    prof = resolve_profile(profile)
    return CACHE_DIR / f"{prof.name}-{code_hash(prof)[:12]}"


def ensure_artifacts(profile: str | None = None, force: bool = False, log=sys.stderr) -> Path:
    """The folder of built artifacts for `profile` ("full", "smoke"; None reads
    LLM_GUIDE_PROFILE, else "full"), building it first if it is missing."""
    prof = resolve_profile(profile)
    final = artifact_dir(prof.name)
    if final.is_dir() and not force:
        return final
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder per cache entry: a second process (the site build while the
    # tests run, say) waits here, then finds the finished folder.
    with open(CACHE_DIR / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_dir() and not force:
            return final
        remove_abandoned_builds()
        tmp = CACHE_DIR / f".tmp-{final.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            build(prof, tmp, code_hash(prof), log=log)
            if final.exists():  # a forced rebuild replaces the old folder
                shutil.rmtree(final)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def remove_abandoned_builds():
    """Delete temporary folders of builds whose process no longer exists (killed mid-build)."""
    for tmp in CACHE_DIR.glob(".tmp-*"):
        try:
            os.kill(int(tmp.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


# ----------------------------------------------------------------------------
# The build


class Tee:
    """Write the progress lines both to the console and to build.log."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, s):
        for st in self.streams:
            st.write(s)

    def flush(self):
        for st in self.streams:
            st.flush()

    def isatty(self):
        return False


def token_stream(tokenizer, docs) -> np.ndarray:
    """All documents as one stream, each followed by <|endoftext|>."""
    ids = []
    for d in docs:
        ids += tokenizer.encode(d)
        ids.append(tokenizer.eot_id)
    return np.array(ids, dtype=np.int64)


def build(prof: Profile, out: Path, digest: str, log=sys.stderr) -> dict:
    from model_export import abilities, agent, agent_train, align, export, safetensors, train
    from model_export.tokenizer import train_bpe
    from model_export.world import make_world, pretrain_documents
    import onnx

    t_start = time.perf_counter()
    with open(out / "build.log", "w") as logfile:
        tee = Tee(log, logfile) if log is not None else logfile
        say = lambda msg: print(f"[build {prof.name}] {msg}", file=tee, flush=True)

        world = make_world(seed=prof.world_seed)
        train_docs = pretrain_documents(world, "train", seed=prof.corpus_seed)
        val_docs = pretrain_documents(world, "val", seed=prof.corpus_seed)
        # The tokenizer also reads agent transcripts, so that tool calls have merged
        # tokens ('{"', '":') and a whole transcript fits the context (agent_train.py).
        tok = train_bpe(train_docs + agent_train.bpe_texts(world, prof.agent.bpe_transcripts), vocab_size=prof.vocab_size)
        assert tok.vocab_size == prof.model.vocab_size, "model vocab_size must match the tokenizer"
        train_tokens, val_tokens = token_stream(tok, train_docs), token_stream(tok, val_docs)
        say(f"world: {len(world.countries)} countries; corpus {len(train_docs)} train / {len(val_docs)} val docs, "
            f"{len(train_tokens):,} / {len(val_tokens):,} tokens; {model.num_params(prof.model):,} parameters")

        meter = abilities.Meter(prof.model, tok, abilities.build_probes(world, tok, train_docs, val_tokens,
                                                                          prof.model.block_size))
        params, hist = train.pretrain(prof.model, prof.pretrain, train_tokens, val_tokens, log=tee,
                                      measure=meter, measure_every=prof.abilities_every)
        t_trained = time.perf_counter()
        say(f"pre-training: {hist.seconds:.1f} s, {hist.ms_per_step:.1f} ms/step")

        t0 = time.perf_counter()
        stages = align.align_stages(params, prof.model, tok, world, prof.align, replay_tokens=train_tokens, log=tee)
        align_seconds = time.perf_counter() - t0
        say(f"alignment (SFT, reward model, RLHF): {align_seconds:.1f} s")
        t0 = time.perf_counter()
        tool_use = agent_train.agent_stage(stages["sft"], prof.model, tok, world, prof.agent, log=tee)
        agent_seconds = time.perf_counter() - t0
        say(f"agent (tool-use tuning and evaluation): {agent_seconds:.1f} s")
        with open(out / "knowledge.json", "w") as f:
            json.dump(agent.knowledge_base(world), f, ensure_ascii=False, separators=(",", ":"))

        tok.save(out / "tokenizer.json")
        shutil.copy(CODE_DIR / "run.py", out / "run.py")
        # numpy and onnxruntime must agree, for every checkpoint: on real text and
        # on random tokens, as one prefill and as a short prefill then single steps
        rng = np.random.default_rng(0)
        T = prof.model.block_size
        real = [val_tokens[s:s + T] for s in rng.integers(0, len(val_tokens) - T, prof.parity_sequences)]
        rand = [rng.integers(0, prof.model.vocab_size, T) for _ in range(prof.parity_sequences)]
        weights = {"model": params, "sft": stages["sft"], "rlhf": stages["rlhf"], "agent": tool_use["params"]}
        checkpoints = []
        for ck in CHECKPOINTS:
            p = weights[ck["name"]]
            model.save_params(out / ck["params"], p, prof.model)
            safetensors.save_checkpoint(out / ck["safetensors"], p, prof.model, tok, ck["name"])
            onnx.save(export.to_onnx(p, prof.model, eot_id=tok.eot_id), str(out / ck["file"]))
            sess = export.session(out / ck["file"])
            diff = max(export.parity(sess, p, prof.model, real + rand),
                       export.parity(sess, p, prof.model, [real[0][:T // 4], rand[0][:T // 4]], prefill=4))
            assert diff < 1e-4, f"{ck['file']}: onnxruntime differs from numpy by {diff}"
            checkpoints.append({**ck, "bytes": (out / ck["file"]).stat().st_size, "max_abs_diff_vs_numpy": diff})
            if ck["name"] == "model":
                max_diff, base_sess = diff, sess
        # the reward model, checked on the answers the report shows it scoring
        run_report = check_run_file(out, prof, tok, weights, real + rand)
        rm = stages["reward"]
        onnx.save(export.to_onnx(rm, prof.model, eot_id=tok.eot_id), str(out / "model_reward.onnx"))
        scored = [(ex["question"], a["answer"]) for ex in stages["report"]["reward_model"]["examples"]
                  for a in ex["answers"]] or [("What is the capital of France?", "Paris.")]
        reward_diff = export.reward_parity(export.session(out / "model_reward.onnx"), rm, prof.model,
                                           [align.reward_batch(tok, prof.model, [q], [a]) for q, a in scored])
        assert reward_diff < 1e-4, f"model_reward.onnx: onnxruntime differs from numpy by {reward_diff}"

        report = {
            "profile": prof.name, "hash": digest,
            "model": prof.model.to_dict(), "n_params": model.num_params(prof.model),
            "pretrain": prof.pretrain.to_dict(),
            "corpus": {"world_countries": len(world.countries),
                       "train_documents": len(train_docs), "val_documents": len(val_docs),
                       "train_tokens": len(train_tokens), "val_tokens": len(val_tokens),
                       "train_chars": sum(map(len, train_docs)),
                       "chars_per_token": round(sum(map(len, train_docs)) / len(train_tokens), 3),
                       "epochs": round(prof.pretrain.steps * prof.pretrain.batch_size * T / len(train_tokens), 2)},
            "tokenizer": {"vocab_size": tok.vocab_size, "eot_id": tok.eot_id,
                          "example": [tok.decode([i]) for i in tok.encode("The capital of France is Paris.")]},
            "loss_curve": loss_curve(hist, prof.curve_every),
            "eval_curve": {"step": [s + 1 for s in hist.eval_step], "train": [e["train"] for e in hist.eval],
                           "val": [e["val"] for e in hist.eval]},
            "abilities": {**abilities.curves(hist.probe_step, hist.probe), "items": meter.items(),
                          "answer_tokens": meter.answer_tokens(), "seconds": round(hist.probe_seconds, 1)},
            "final": {"train_loss": hist.eval[-1]["train"], "val_loss": hist.eval[-1]["val"],
                      "uniform_loss": math.log(prof.model.vocab_size)},
            "capitals": capital_accuracy(params, prof.model, tok, world),
            "flash_flood": next_token_candidates(params, prof.model, tok, FLASH_FLOOD_PROMPT, FLASH_FLOOD_WORDS),
            "samples": [{"prompt": p, "completion": tok.decode(model.generate_greedy(
                params, prof.model, tok.encode(p), 24, stop_id=tok.eot_id))} for p in SAMPLE_PROMPTS],
            "onnx": {"opset": export.OPSET, "bytes": (out / "model.onnx").stat().st_size,
                     "max_abs_diff_vs_numpy": max_diff,
                     "ops": graph_ops(out / "model.onnx"),
                     "inputs": {i.name: i.shape for i in base_sess.get_inputs()},
                     "outputs": {o.name: o.shape for o in base_sess.get_outputs()}},
            "align": stages["report"],
            "agent": tool_use["report"],
            "checkpoints": checkpoints,
            "run_file": run_report,
            "reward_onnx": {"file": "model_reward.onnx", "bytes": (out / "model_reward.onnx").stat().st_size,
                            "max_abs_diff_vs_numpy": reward_diff},
        }
        total = time.perf_counter() - t_start
        report["timing"] = {"ms_per_step": round(hist.ms_per_step, 2), "pretrain_seconds": round(hist.seconds, 1),
                            "align_seconds": round(align_seconds, 1), "agent_seconds": round(agent_seconds, 1),
                            "after_pretrain_seconds": round(total - (t_trained - t_start), 1),
                            "total_seconds": round(total, 1), "numpy": np.__version__,
                            "blas": blas_info(), "python": platform.python_version(),
                            "machine": platform.machine(), "cpus": os.cpu_count()}
        report = finite(report)  # NaN (an accuracy over 0 pairs, say) is not JSON; the browser reads this file
        with open(out / "report.json", "w") as f:
            json.dump(report, f, indent=1, allow_nan=False)
        say(f"done in {total:.1f} s: val loss {report['final']['val_loss']:.3f}, "
            f"capitals {report['capitals']['correct']}/{report['capitals']['total']}, "
            f"onnx max diff {max(c['max_abs_diff_vs_numpy'] for c in checkpoints):.1e}, "
            f"run.py max diff {run_report['max_abs_diff_vs_numpy']:.1e}")
    return report


def check_run_file(out: Path, prof: Profile, tok, weights: dict, sequences) -> dict:
    """run.py, reading each .safetensors file the build wrote, must give the numpy
    model's logits and onnxruntime's (within RUN_FILE_TOLERANCE, as one prefill and as a short
    prefill then single steps) and the same greedy text; then run it as a reader
    would, for the page."""
    import subprocess
    from model_export import export, run, sft
    T = prof.model.block_size
    worst_np = worst_ort = 0.0
    greedy = []
    for ck in CHECKPOINTS:
        params, rf = weights[ck["name"]], run.Model(out / ck["safetensors"])
        sess = export.session(out / ck["file"])
        for seq in list(sequences) + [s[:T // 4] for s in sequences[:2]]:
            prefill = len(seq) if len(seq) > T // 4 else 4
            cache, past = run.new_cache(rf), model.empty_kv(prof.model)
            for start, stop in [(0, prefill)] + [(t, t + 1) for t in range(prefill, len(seq))]:
                chunk = [int(i) for i in seq[start:stop]]
                got = run.forward(rf, chunk, cache)
                ref, past_next = model.forward_step(params, prof.model, np.array([chunk]), past)
                onnx_logits = export.run_onnx(sess, np.array([chunk]), past)[0]
                worst_np = max(worst_np, float(np.abs(got - ref[0]).max()))
                worst_ort = max(worst_ort, float(np.abs(got - onnx_logits[0]).max()))
                past = past_next
        prompts = ([tok.encode(p) for p in SAMPLE_PROMPTS] if ck["name"] == "model" else
                   [run.chat_ids(rf.tokenizer, q) for q in CHAT_PROMPTS])
        if ck["name"] != "model":  # the chat format, token for token as the tuned model learned it
            assert prompts == [sft.encode_prompt(tok, q) for q in CHAT_PROMPTS], "run.py's chat ids differ from sft.py's"
        for ids in prompts:
            want = model.generate_greedy(params, prof.model, ids, 24, stop_id=tok.eot_id)
            got = run.generate(rf, ids, 24)
            if got != want:  # acceptable only where the two best tokens tie to within float32 rounding
                n = next(i for i, (a, b) in enumerate(zip(got + [-1], want + [-1])) if a != b)
                logits, _ = model.forward_step(params, prof.model, np.array([ids + want[:n]]), model.empty_kv(prof.model))
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
    import onnx
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


def loss_curve(hist, every: int) -> dict:
    n = len(hist.train_loss) // every * every
    losses = np.array(hist.train_loss[:n]).reshape(-1, every).mean(axis=1)
    return {"step": [every * (i + 1) for i in range(len(losses))], "train_loss": [round(float(x), 4) for x in losses],
            "lr": [hist.lr[every * (i + 1) - 1] for i in range(len(losses))]}


def capital_accuracy(params, config, tok, world) -> dict:
    """Greedy completion of "The capital of X is" for every country; correct
    when the first generated tokens are exactly the capital's tokens."""
    rows = []
    for prompt, answer in world.capital_prompts():
        want = tok.encode(answer)
        logits, _ = model.forward_step(params, config, np.array([tok.encode(prompt)]), model.empty_kv(config))
        probs = softmax(logits[0, -1])
        got = model.generate_greedy(params, config, tok.encode(prompt), len(want) + 2, stop_id=tok.eot_id)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default=None, help="full (default, or $LLM_GUIDE_PROFILE) or smoke")
    ap.add_argument("--force", action="store_true", help="rebuild even on a cache hit")
    args = ap.parse_args()
    t0 = time.perf_counter()
    path = ensure_artifacts(args.profile, force=args.force)
    print(f"{path} ({time.perf_counter() - t0:.2f} s)")


if __name__ == "__main__":
    main()
