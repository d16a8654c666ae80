"""The two files: the safetensors parameter file and run.py, the numpy-only run file.

run.py is tested as a reader uses it: the copy in the build's folder, imported
by path or run as a program, reading the .safetensors files the build wrote.
"""

import importlib.util
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model_export import build, decoding, export, model, safetensors
from model_export.chat import encode_prompt
from model_export.build import ensure_artifacts
from model_export.checkpoints import CHECKPOINTS
from model_export.stages.export import RUN_EXAMPLES
from model_export.tokenizer import Tokenizer

TINY = model.GPTConfig(vocab_size=300, n_layer=2, n_embd=16, n_head=2, block_size=24)
PROMPTS = ["The capital of France is", "A flash flood watch will be in effect all", "Lionel Messi", "x"]
QUESTIONS = ["What is the capital of Norway?", "Which club does Lionel Messi play for?", "Tell me about 😀 <b>"]


@pytest.fixture(scope="module")
def smoke_dir():
    return ensure_artifacts("smoke", log=None)


def import_run(path):
    spec = importlib.util.spec_from_file_location("standalone_run", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def run(smoke_dir):
    """The run.py copied into the artifacts, imported by path as a reader would use it."""
    return import_run(smoke_dir / "run.py")


@pytest.fixture(scope="module")
def smoke_tok(smoke_dir):
    return Tokenizer.load(smoke_dir / "tokenizer.json")


def cli(smoke_dir, *args, python=sys.executable, check=True):
    return subprocess.run([python, "run.py", *args], cwd=smoke_dir, capture_output=True, text=True,
                          timeout=300, check=check)


# ---------------------------------------------------------------------------
# The parameter file


def test_safetensors_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"wte": rng.normal(size=(5, 3)).astype(np.float32), "h0.ln1.b": np.arange(3, dtype=np.float32),
               "empty": np.zeros((0, 4), np.float32), "ids": np.array([1, -2], np.int64)}
    meta = {"config": json.dumps({"n_embd": 3}), "note": "ünïcode"}
    path = tmp_path / "a.safetensors"
    safetensors.save(path, tensors, meta)
    got, got_meta = safetensors.load(path)
    assert got_meta == meta and list(got) == list(tensors)
    for name, array in tensors.items():
        assert got[name].dtype == array.dtype and np.array_equal(got[name], array), name
    # the layout, read by hand: u64 little-endian length, JSON padded to 8 bytes, then the raw numbers
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0 and raw[8:9] == b"{" and raw[8 + n - 1:8 + n] in (b"}", b" ")
    header = json.loads(raw[8:8 + n])
    start, end = header["wte"]["data_offsets"]
    assert header["wte"]["dtype"] == "F32" and header["wte"]["shape"] == [5, 3]
    assert np.array_equal(np.frombuffer(raw[8 + n + start:8 + n + end], "<f4").reshape(5, 3), tensors["wte"])
    assert len(raw) == 8 + n + sum(a.nbytes for a in tensors.values())


def test_safetensors_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="float64"):
        safetensors.save(tmp_path / "x", {"w": np.zeros(2)}, {})
    with pytest.raises(TypeError, match="strings"):
        safetensors.save(tmp_path / "x", {"w": np.zeros(2, np.float32)}, {"config": {"n": 1}})
    good = tmp_path / "good.safetensors"
    safetensors.save(good, {"w": np.ones((4, 4), np.float32)}, {})
    raw = good.read_bytes()
    for name, data in {"short": raw[:5], "truncated": raw[:-4], "garbage": b"\xff" * 64,
                       "not json": struct.pack("<Q", 8) + b"\x00" * 40}.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        with pytest.raises(ValueError):
            safetensors.load(bad)


def test_safetensors_library_reads_our_files(tmp_path):
    """Hugging Face's own reader agrees with this writer (when it is installed)."""
    st_numpy = pytest.importorskip("safetensors.numpy")
    tensors = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(2, np.float32)}
    safetensors.save(tmp_path / "m.safetensors", tensors, {"k": "v"})
    got = st_numpy.load_file(str(tmp_path / "m.safetensors"))
    assert all(np.array_equal(got[k], v) for k, v in tensors.items())


def test_checkpoint_files_hold_weights_config_and_tokenizer(smoke_dir, smoke_tok):
    for ck in CHECKPOINTS:
        params, cfg = model.load_params(smoke_dir / ck["params"])
        tensors, meta = safetensors.load(smoke_dir / ck["safetensors"])
        assert list(tensors) == list(model.param_shapes(cfg))
        assert all(np.array_equal(tensors[k], params[k]) for k in tensors), ck["name"]
        assert json.loads(meta["config"]) == cfg.to_dict() and meta["checkpoint"] == ck["name"]
        assert Tokenizer.from_json(json.loads(meta["tokenizer"])).to_json() == smoke_tok.to_json()


# ---------------------------------------------------------------------------
# run.py: standalone, same tokens, same logits, same text


def test_run_file_needs_numpy_alone(smoke_dir):
    src = (smoke_dir / "run.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in src.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"argparse", "json", "math", "re", "struct", "sys", "numpy"}
    assert len(src.splitlines()) <= 260  # short enough to read in one sitting
    assert src == (build.CODE_DIR / "run.py").read_text()


def test_run_file_tokenizer_matches_vectors(run):
    """The run file's compact BPE encoder reproduces the reference tokenizer's test vectors."""
    root = build.ROOT / "tests" / "data"
    tok = run.load_tokenizer(json.loads((root / "tokenizer_small.json").read_text()))
    for case in json.loads((root / "tokenizer_vectors.json").read_text(encoding="utf-8")):
        assert run.encode(tok, case["text"], case["allow_special"]) == case["ids"], case["text"]
        assert run.decode(tok, case["ids"]) == Tokenizer.load(root / "tokenizer_small.json").decode(case["ids"])


def test_chat_ids_are_the_tuned_models_format(run, smoke_dir, smoke_tok):
    """--chat wraps the question exactly as sft.py trained on it: special tokens as single ids."""
    tok = run.Model(smoke_dir / "model_sft.safetensors").tokenizer
    for q in QUESTIONS:
        ids = run.chat_ids(tok, q)
        assert ids == encode_prompt(smoke_tok, q)
        assert ids[0] == smoke_tok.special_ids["<|user|>"] and ids[-1] == smoke_tok.special_ids["<|assistant|>"]
    # typed as a plain prompt, the markers are ordinary characters (what the old run file did)
    assert smoke_tok.special_ids["<|user|>"] not in run.encode(tok, "<|user|>Hi<|assistant|>")


def random_tiny(seed):
    params = model.init_params(TINY, seed=seed)
    flat = model.flat_of(params)
    flat += np.random.default_rng(seed).normal(size=flat.shape).astype(np.float32) * 0.3  # far from the init
    return params


def logits_diffs(run, rf, params, cfg, sess, seq, prefill):
    """Largest |run.py - numpy| and |run.py - onnxruntime| over the logits of a
    prefill of `prefill` tokens followed by single-token steps."""
    cache, past, worst_np, worst_ort = run.new_cache(rf), model.empty_kv(cfg), 0.0, 0.0
    for start, stop in [(0, prefill)] + [(t, t + 1) for t in range(prefill, len(seq))]:
        chunk = [int(i) for i in seq[start:stop]]
        got = run.forward(rf, chunk, cache)
        ref, past_next = model.forward_step(params, cfg, np.array([chunk]), past)
        worst_np = max(worst_np, float(np.abs(got - ref[0]).max()))
        worst_ort = max(worst_ort, float(np.abs(got - export.run_onnx(sess, np.array([chunk]), past)[0][0]).max()))
        past = past_next
    assert cache[0][0].shape[1] == len(seq)
    return worst_np, worst_ort


def test_run_file_logits_equal_numpy_and_onnx_random_weights(run, tmp_path, smoke_tok):
    """Random weights far from the initialisation, random tokens, every prefill length."""
    from model_export import tokenizer
    tok = tokenizer.train_bpe(["The capital of France is Paris."] * 3, vocab_size=TINY.vocab_size)
    for seed in (1, 2):
        params = random_tiny(seed)
        path = tmp_path / f"tiny{seed}.safetensors"
        safetensors.save_checkpoint(path, params, TINY, tok, "tiny")
        rf = run.Model(path)
        sess = export.session(export.to_onnx(params, TINY, eot_id=tok.eot_id))
        seq = np.random.default_rng(seed).integers(0, TINY.vocab_size, TINY.block_size)
        for prefill in (1, 5, TINY.block_size):
            d_np, d_ort = logits_diffs(run, rf, params, TINY, sess, seq, prefill)
            assert d_np < 1e-4 and d_ort < 1e-4, (seed, prefill, d_np, d_ort)


def test_run_file_logits_equal_numpy_and_onnx_smoke(run, smoke_dir, smoke_tok):
    for ck in CHECKPOINTS:
        params, cfg = model.load_params(smoke_dir / ck["params"])
        rf = run.Model(smoke_dir / ck["safetensors"])
        assert rf.block_size == cfg.block_size and rf.eot_id == smoke_tok.eot_id
        sess = export.session(smoke_dir / ck["file"])
        text = smoke_tok.encode("Weather bulletin for Paris. A flash flood watch will be in effect all night. " * 4)
        d_np, d_ort = logits_diffs(run, rf, params, cfg, sess, text[:cfg.block_size], 7)
        assert d_np < 1e-4 and d_ort < 1e-4, (ck["name"], d_np, d_ort)


def test_greedy_text_equals_numpy(run, smoke_dir, smoke_tok):
    for ck in CHECKPOINTS:
        params, cfg = model.load_params(smoke_dir / ck["params"])
        rf = run.Model(smoke_dir / ck["safetensors"])
        prompts = [smoke_tok.encode(p) for p in PROMPTS] + [encode_prompt(smoke_tok, q) for q in QUESTIONS]
        for ids in prompts:
            want = decoding.generate(params, cfg, [ids], 20, smoke_tok.eot_id)[0]
            assert run.generate(rf, ids, 20) == want, (ck["name"], smoke_tok.decode(ids))


def test_build_checked_the_run_file(smoke_dir):
    rep = json.loads((smoke_dir / "report.json").read_text())["run_file"]
    assert rep["tolerance"] == 1e-4 and rep["max_abs_diff_vs_numpy"] < 1e-4 and rep["max_abs_diff_vs_onnx"] < 1e-4
    assert rep["lines"] == len((smoke_dir / "run.py").read_text().splitlines())
    assert {c["checkpoint"] for c in rep["greedy"]} == {ck["name"] for ck in CHECKPOINTS}
    assert all(c["same_as_numpy"] for c in rep["greedy"])
    assert rep["safetensors_bytes"] == {ck["safetensors"]: (smoke_dir / ck["safetensors"]).stat().st_size
                                        for ck in CHECKPOINTS}
    assert [e["args"] for e in rep["examples"]] == RUN_EXAMPLES
    for example in rep["examples"]:  # the captured output is what the command prints now
        assert cli(smoke_dir, *example["args"]).stdout == example["output"]


def test_context_window_slides(run, smoke_dir):
    """Generation past block_size keeps going by dropping the oldest tokens."""
    rf = run.Model(smoke_dir / "model.safetensors")
    rf.eot_id = None  # never stop early
    out = run.generate(rf, [65] * (rf.block_size + 5), max_new_tokens=5)
    assert len(out) == 5


def test_sampling_filters(run):
    rng = run.XorShift(0)
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    assert run.sample(logits, rng, temperature=0) == 0
    assert {run.sample(logits, rng, 1.0, top_k=2) for _ in range(200)} == {0, 1}
    assert {run.sample(logits, rng, 1.0, top_p=0.75) for _ in range(200)} == {0, 1}
    assert {run.sample(logits, rng, 1.0, top_p=0.5) for _ in range(50)} == {0}


def test_sampler_is_decoding_py(run):
    """run.py's own compact sampler and random numbers give what the build's decoding.py gives."""
    r = np.random.default_rng(1)
    for t in range(2000):
        V = int(r.integers(2, 600))
        logits = r.normal(0, r.uniform(0.1, 8), V).astype(np.float32)
        if t % 5 == 0:
            logits[r.integers(0, V, V // 2)] = logits[0]                     # ties
        temperature = float(r.choice([0.0, 0.01, 0.3, 0.7, 1.0, 1.5, 3.0]))
        top_k, top_p = int(r.choice([0, 1, 2, 5, 40, 1000])), float(r.choice([1.0, 0.999, 0.9, 0.5, 0.1]))
        seed = int(r.integers(0, 2 ** 63))
        want = decoding.sample(logits, decoding.XorShift(seed), temperature, top_k, top_p)
        assert run.sample(logits, run.XorShift(seed), temperature, top_k, top_p) == want, t
    a, b = run.XorShift(2 ** 64 - 2), decoding.XorShift(2 ** 64 - 2)
    assert [a.random() for _ in range(1000)] == [b.random() for _ in range(1000)]


def test_sampled_text_is_reproducible(run, smoke_dir, smoke_tok):
    rf = run.Model(smoke_dir / "model.safetensors")
    params, cfg = model.load_params(smoke_dir / "params.npz")
    ids = smoke_tok.encode("The capital of France is")
    got = run.generate(rf, ids, 16, temperature=1.0, top_k=40, seed=3)
    assert got == run.generate(rf, ids, 16, temperature=1.0, top_k=40, seed=3)
    assert got == decoding.generate(params, cfg, [ids], 16, smoke_tok.eot_id, temperature=1.0, top_k=40,
                                    rng=decoding.XorShift(3))[0]


# ---------------------------------------------------------------------------
# The command line


def test_cli_prompt_and_chat(smoke_dir, smoke_tok):
    params, cfg = model.load_params(smoke_dir / "params.npz")
    prompt = "The capital of France is"
    want = prompt + smoke_tok.decode(decoding.generate(params, cfg, [smoke_tok.encode(prompt)], 12,
                                                       smoke_tok.eot_id)[0])
    assert cli(smoke_dir, "model.safetensors", prompt, "--max-new-tokens", "12").stdout == want + "\n"
    sft_params, _ = model.load_params(smoke_dir / "params_sft.npz")
    q = "What is the capital of Norway?"
    answer = smoke_tok.decode(decoding.generate(sft_params, cfg, [encode_prompt(smoke_tok, q)], 40,
                                                smoke_tok.eot_id)[0])
    assert cli(smoke_dir, "model_sft.safetensors", "--chat", q).stdout == answer + "\n"
    # an empty prompt starts a new document, as the generation lab does
    assert cli(smoke_dir, "model.safetensors", "", "--max-new-tokens", "3").returncode == 0


def test_cli_sampling_is_repeatable_with_a_seed(smoke_dir):
    args = ["model.safetensors", "The king", "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "3"]
    a, b = cli(smoke_dir, *args).stdout, cli(smoke_dir, *args).stdout
    assert a == b and a.startswith("The king")


@pytest.mark.parametrize("args, message", [
    (["model.safetensors"], "give a prompt"),
    (["model.safetensors", "Hi", "--chat", "Hi?"], "not both"),
    (["model.safetensors", "Hi", "--temperature", "-1"], "--temperature"),
    (["model.safetensors", "Hi", "--seed", "-1"], "--seed"),
    (["model.onnx", "Hi"], "not a .safetensors parameter file"),
    (["tokenizer.json", "Hi"], "not a .safetensors parameter file"),
    (["missing.safetensors", "Hi"], "No such file"),
])
def test_cli_bad_input_gets_a_clear_message(smoke_dir, args, message):
    out = cli(smoke_dir, *args, check=False)
    assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_cli_rejects_a_safetensors_file_without_the_models_metadata(smoke_dir, tmp_path):
    other = tmp_path / "other.safetensors"
    safetensors.save(other, {"w": np.zeros(3, np.float32)}, {})
    out = cli(smoke_dir, str(other), "Hi", check=False)
    assert out.returncode != 0 and "no config and tokenizer" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_run_file_in_a_fresh_venv_with_numpy_alone(smoke_dir, tmp_path):
    """A reader's machine: a new virtual environment, numpy installed from PyPI, nothing else."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"numpy=={np.__version__}"],
                   check=True, timeout=600)
    missing = subprocess.run([python, "-c", "import onnxruntime"], capture_output=True)
    assert missing.returncode != 0, "the fresh venv must not have onnxruntime"
    folder = tmp_path / "download"  # only the two files, as a reader downloads them
    folder.mkdir()
    for name in ("run.py", "model.safetensors", "model_sft.safetensors"):
        (folder / name).write_bytes((smoke_dir / name).read_bytes())
    rep = json.loads((smoke_dir / "report.json").read_text())["run_file"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for example in rep["examples"]:
        out = subprocess.run([python, "run.py", *example["args"]], cwd=folder, capture_output=True, text=True,
                             timeout=300, env=env, check=True)
        assert out.stdout == example["output"]


@pytest.mark.full
def test_full_model_answers_paris_and_oslo(full_artifacts):
    """The shipped model through the shipped files: Paris from the base model, Oslo from the SFT checkpoint."""
    base = cli(full_artifacts, "model.safetensors", "The capital of France is").stdout
    assert base.startswith("The capital of France is Paris"), base
    answer = cli(full_artifacts, "model_sft.safetensors", "--chat", "What is the capital of Norway?").stdout
    assert "Oslo" in answer, answer
    rep = json.loads((Path(full_artifacts) / "report.json").read_text())["run_file"]
    assert [e["output"] for e in rep["examples"]] == [base, answer]
