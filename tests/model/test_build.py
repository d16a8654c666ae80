"""The build cache and the artifacts (the run file's own tests: test_run.py)."""

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
