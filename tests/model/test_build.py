"""The build cache and the artifacts (the run file's own tests: test_run.py)."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

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


def test_stage_keys_cover_every_module_the_stage_imports():
    """A stage's key hashes its code_files: they must include every model_export
    module that importing the stage loads, and nothing outside model_export (an
    edit under docs/ or snippets/ retrains nothing)."""
    for stage in build.STAGES:
        code = (f"import sys; import model_export.stages.{stage}\n"
                "print(' '.join(sorted(m.__file__ for n, m in sys.modules.items() if n.startswith('model_export.')"
                " and getattr(m, '__file__', None))))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=build.ROOT)
        files = set(build.code_files(stage))
        loaded = {Path(f) for f in out.stdout.split() if not f.endswith("__init__.py")}
        assert loaded <= files, (stage, sorted(str(p) for p in loaded - files))
        assert all(build.CODE_DIR in p.parents for p in files), stage


# The layers, lowest first: a module imports only from its own layer and those below.
LAYERS = {
    "core": {"model", "train", "decoding", "tokenizer", "export", "schema", "grammar", "constrain",
             "safetensors", "run", "checkpoints"},
    "data": {"world", "chat", "questions", "agent"},
    "stage": {"abilities", "sft", "rubric", "preferences", "reward", "rl", "evaluation", "agent_train"},
    "pipeline": {"config", "build"},
}


def test_modules_import_only_downward():
    modules = {p.stem for p in build.CODE_DIR.glob("*.py")} - {"__init__"}
    layer_of = {m: n for n, (_, ms) in enumerate(LAYERS.items()) for m in ms}
    assert modules == set(layer_of), f"a module without a layer: {sorted(modules ^ set(layer_of))}"
    for m in modules:
        for dep in build.imported_files(build.CODE_DIR / f"{m}.py"):
            name = "stages" if dep.parent.name == "stages" else dep.stem
            assert name != "stages" and layer_of[name] <= layer_of[m], f"{m} imports {name}, a layer above it"
    for stage in build.STAGES:  # stages import anything below the pipeline, never the pipeline
        for dep in build.imported_files(build.CODE_DIR / "stages" / f"{stage}.py"):
            assert dep.stem not in LAYERS["pipeline"], f"stages/{stage}.py imports {dep.stem}"


def test_each_stage_hashes_only_its_own_code():
    """Pre-training's key does not read the tuning code; RL's module is read by RL alone."""
    code = {stage: {p.stem for p in build.code_files(stage)} for stage in build.STAGES}
    assert not code["pretrain"] & {"sft", "rubric", "preferences", "reward", "rl", "evaluation", "agent_train"}
    assert [s for s in build.STAGES if "rl" in code[s]] == ["rl"]
    assert "export" in code["export"] and "run" in code["export"]  # the shipped files' code


def test_a_change_to_the_rl_module_reruns_rl_alone(tmp_path):
    """A copy of the project's code, built with the smoke profile; then a
    statement that changes nothing is appended to rl.py: only the rl stage runs,
    its policy is bit for bit the same, so the finished folder is the same one.
    A comment reruns nothing at all."""
    shutil.copytree(build.CODE_DIR, tmp_path / "model_export", ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "model_export.build", "--profile", "smoke"]
    first = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "(9 of 9 stages ran)" in first.stderr
    # progress a newcomer can follow: each stage's start and end, training lines with the time left
    for n, stage in enumerate(build.STAGES, 1):
        assert f"stage {n}/9: {stage} ..." in first.stderr and f"stage {n}/9: {stage} done in" in first.stderr
    assert "pretrain step 1/" in first.stderr and " s left" in first.stderr
    assert first.stderr.rstrip().splitlines()[-2].startswith("[build smoke] stages: corpus ")
    with open(tmp_path / "model_export" / "rl.py", "a") as f:
        f.write("\nUNUSED = 0\n")
    second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "(1 of 9 stages ran)" in second.stderr and "rl done in" in second.stderr, second.stderr
    assert second.stdout.split()[0] == first.stdout.split()[0]
    with open(tmp_path / "model_export" / "rl.py", "a") as f:
        f.write("# a comment\n")
    third = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "stage" not in third.stderr  # all cached: not a line of progress
    assert third.stdout.split()[0] == first.stdout.split()[0]


def test_stage_log_keeps_whole_lines_and_drops_live_ones():
    """On a terminal, training rewrites one live line with "\\r"; the stage's log file
    gets the lines that end with "\\n", whole (print writes a line's end separately)."""
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    console, logfile = Terminal(), io.StringIO()
    tee = build.Tee(console, logfile)
    assert tee.isatty() and not build.Tee(None, io.StringIO()).isatty()
    for text, end in (("step 1", "\r"), ("step 2", "\r"), ("step 3", "\n"), ("[sft] done", "\n")):
        print(text, end=end, file=tee)
    assert logfile.getvalue() == "step 3\n[sft] done\n"
    assert console.getvalue() == "step 1\rstep 2\rstep 3\n[sft] done\n"


def test_prune_keeps_the_folders_a_build_used(tmp_path, monkeypatch):
    """A stage folder the build just read from the cache can be older than others
    made since (trial runs with other settings); pruning keeps it, then the newest."""
    import os

    monkeypatch.setattr(build, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(build, "STAGE_DIR", tmp_path / "stages")
    prof = build.resolve_profile("smoke")
    folders = []
    for age, key in enumerate("abcde"):   # a the oldest, e the newest
        folder = tmp_path / "stages" / f"smoke-rl-{key}"
        folder.mkdir(parents=True)
        (folder / "stage.json").write_text("{}")
        os.utime(folder, (1000 + age, 1000 + age))
        folders.append(folder)
    build.prune(prof, keep=3, used=[folders[0]])
    assert sorted(p.name for p in (tmp_path / "stages").iterdir()) == ["smoke-rl-a", "smoke-rl-d", "smoke-rl-e"]
    build.prune(prof, keep=2)
    assert sorted(p.name for p in (tmp_path / "stages").iterdir()) == ["smoke-rl-d", "smoke-rl-e"]
