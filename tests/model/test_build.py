"""The build cache, the artifacts, and the standalone run file."""

import importlib.util
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from model_export import build, model
from model_export.build import ensure_artifacts


@pytest.fixture(scope="module")
def smoke_dir():
    return ensure_artifacts("smoke", log=None)


@pytest.fixture(scope="module")
def run_module(smoke_dir):
    """The run.py copied into the artifacts, imported by path as a reader would use it."""
    spec = importlib.util.spec_from_file_location("standalone_run", smoke_dir / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_artifacts_complete(smoke_dir):
    for name in build.FILES:
        assert (smoke_dir / name).is_file(), name
    report = json.loads((smoke_dir / "report.json").read_text())
    assert set(build.REPORT_KEYS) <= set(report)
    assert report["n_params"] == model.num_params(model.GPTConfig(**report["model"]))
    assert 0 <= report["capitals"]["accuracy"] <= 1 and report["capitals"]["total"] == len(report["capitals"]["completions"])
    assert report["onnx"]["max_abs_diff_vs_numpy"] < 1e-4
    assert report["reward_onnx"]["max_abs_diff_vs_numpy"] < 1e-4 and report["reward_onnx"]["bytes"] > 0
    assert smoke_dir.parent == build.CACHE_DIR and smoke_dir.name.startswith("smoke-")


def test_aligned_checkpoints(smoke_dir):
    """model_sft.onnx, model_rlhf.onnx and model_agent.onnx: listed for the page's switcher, and
    onnxruntime agrees with their numpy weights."""
    from model_export import export
    report = json.loads((smoke_dir / "report.json").read_text())
    cks = report["checkpoints"]
    assert [c["name"] for c in cks] == ["model", "sft", "rlhf", "agent"]
    assert [c["file"] for c in cks] == ["model.onnx", "model_sft.onnx", "model_rlhf.onnx", "model_agent.onnx"]
    assert all(c["label"] and c["max_abs_diff_vs_numpy"] < 1e-4 for c in cks)
    for key in ("sft", "preferences", "reward_model", "rl", "checkpoints", "samples", "timing"):
        assert key in report["align"], key
    assert set(report["align"]["checkpoints"]) == {"base", "sft", "rlhf"}
    assert report["timing"]["align_seconds"] >= 0
    rng = np.random.default_rng(1)
    for ck in cks[1:]:
        params, cfg = model.load_params(smoke_dir / ck["params"])
        base, _ = model.load_params(smoke_dir / "params.npz")
        assert not np.array_equal(model.flat_of(params), model.flat_of(base)), ck["name"]
        sess = export.session(smoke_dir / ck["file"])
        seqs = [rng.integers(0, cfg.vocab_size, cfg.block_size) for _ in range(2)]
        assert export.parity(sess, params, cfg, seqs) < 1e-4
        assert export.parity(sess, params, cfg, [seqs[0][:8]], prefill=4) < 1e-4


def test_report_is_strict_json(smoke_dir):
    """The browser parses report.json with JSON.parse: no NaN or Infinity."""
    json.loads((smoke_dir / "report.json").read_text(),
               parse_constant=lambda c: pytest.fail(f"report.json contains {c}"))


def test_cache_hit_is_fast_and_same(smoke_dir):
    mtime = (smoke_dir / "params.npz").stat().st_mtime_ns
    t0 = time.perf_counter()
    again = ensure_artifacts("smoke", log=None)
    assert time.perf_counter() - t0 < 1.0
    assert again == smoke_dir and (again / "params.npz").stat().st_mtime_ns == mtime


def test_profile_from_environment(smoke_dir, monkeypatch):
    monkeypatch.setenv("LLM_GUIDE_PROFILE", "smoke")
    assert ensure_artifacts(None, log=None) == smoke_dir
    with pytest.raises(ValueError):
        build.resolve_profile("nonexistent")


def test_run_file_is_standalone(smoke_dir):
    src = (smoke_dir / "run.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in src.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"argparse", "json", "re", "numpy", "onnxruntime"}


def test_run_file_tokenizer_matches_vectors(run_module):
    """The run file's compact BPE encoder reproduces the reference tokenizer's test vectors."""
    root = build.ROOT / "tests" / "data"
    tok = run_module.load_tokenizer(root / "tokenizer_small.json")
    for case in json.loads((root / "tokenizer_vectors.json").read_text(encoding="utf-8")):
        assert run_module.encode(tok, case["text"], case["allow_special"]) == case["ids"], case["text"]


def test_run_file_greedy_equals_numpy(smoke_dir, run_module):
    from model_export.tokenizer import Tokenizer
    params, cfg = model.load_params(smoke_dir / "params.npz")
    tok = Tokenizer.load(smoke_dir / "tokenizer.json")
    rt = run_module.load_tokenizer(smoke_dir / "tokenizer.json")
    m = run_module.Model(str(smoke_dir / "model.onnx"))
    for prompt in ["The capital of France is", "A flash flood watch will be in effect all", "Lionel Messi"]:
        ids = tok.encode(prompt)
        assert run_module.encode(rt, prompt) == ids
        want = model.generate_greedy(params, cfg, ids, 20, stop_id=tok.eot_id)
        assert run_module.generate(m, ids, 20, temperature=0) == want


def test_run_file_cli(smoke_dir):
    from model_export.tokenizer import Tokenizer
    params, cfg = model.load_params(smoke_dir / "params.npz")
    tok = Tokenizer.load(smoke_dir / "tokenizer.json")
    prompt = "The capital of France is"
    want = prompt + tok.decode(model.generate_greedy(params, cfg, tok.encode(prompt), 12, stop_id=tok.eot_id))
    out = subprocess.run([sys.executable, str(smoke_dir / "run.py"), str(smoke_dir / "model.onnx"),
                          str(smoke_dir / "tokenizer.json"), prompt, "--max-new-tokens", "12"],
                         capture_output=True, text=True, check=True, cwd=smoke_dir)
    assert out.stdout.rstrip("\n") == want
    # sampling runs, and a seed makes it repeatable
    args = [sys.executable, str(smoke_dir / "run.py"), str(smoke_dir / "model.onnx"), str(smoke_dir / "tokenizer.json"),
            prompt, "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "3"]
    a = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    b = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert a == b and a.startswith(prompt)


def test_sampling_filters(run_module):
    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    assert run_module.sample(logits, rng, temperature=0) == 0
    assert {run_module.sample(logits, rng, 1.0, top_k=2) for _ in range(200)} == {0, 1}
    assert {run_module.sample(logits, rng, 1.0, top_p=0.75) for _ in range(200)} == {0, 1}
    assert {run_module.sample(logits, rng, 1.0, top_p=0.5) for _ in range(50)} == {0}


def test_context_window_slides(smoke_dir, run_module):
    """Generation past block_size keeps going by dropping the oldest tokens."""
    m = run_module.Model(str(smoke_dir / "model.onnx"))
    m.eot_id = None  # never stop early
    out = run_module.generate(m, [65] * (m.block_size - 2), max_new_tokens=5, temperature=0)
    assert len(out) == 5


def test_cache_key_covers_every_module_the_build_imports():
    """BUILD_MODULES must list every model_export module the build can reach."""
    code = ("import sys, importlib; from model_export import build\n"
            "for m in build.BUILD_MODULES: importlib.import_module('model_export.' + m)\n"
            "print(' '.join(sorted(n.split('.')[1] for n in sys.modules if n.startswith('model_export.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=build.ROOT)
    assert set(out.stdout.split()) <= set(build.BUILD_MODULES)


def test_page_checkpoint_list_matches_the_build():
    """model-runtime.js keeps a fallback list of checkpoints for when report.json
    lists none; it must name the same files with the same labels as the build."""
    import re
    js = (build.CODE_DIR.parent / "docs/javascripts/model-runtime.js").read_text()
    block = js[js.index("export const CHECKPOINTS"):]
    block = block[:block.index("];")]
    listed = [dict(zip(("name", "file", "label"), m)) for m in
              re.findall(r'name: "([^"]+)", file: "([^"]+)", label: "([^"]+)"', block)]
    assert listed == [{k: c[k] for k in ("name", "file", "label")} for c in build.CHECKPOINTS]
