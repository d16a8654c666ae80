"""The page's .onnx reader (readOnnx in docs/javascripts/onnx-reader.js) on bad bytes.

A download that was cut short or damaged, or a file that is not ONNX at all,
must end in a LoadError naming the file within milliseconds: never an endless
loop (a truncated varint once spun forever) and never a read past the end.
The intact file must give exactly the metadata and embedding tables the export
wrote. One node process runs every case (tests/js/onnx_reader_bridge.mjs).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export import export, model  # noqa: E402

NODE = shutil.which("node")
BRIDGE = ROOT / "tests" / "js" / "onnx_reader_bridge.mjs"
# Every case must finish far below this; a hang would hit the subprocess timeout instead.
MAX_CASE_MS = 250

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run the JavaScript reader")


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    config = model.GPTConfig(vocab_size=300, n_layer=1, n_embd=16, n_head=2, block_size=32)
    params = model.init_params(config, seed=3)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export.export(params, config, path, eot_id=299)
    return path, config, params


def run_bridge(request):
    proc = subprocess.run([NODE, str(BRIDGE)], input=json.dumps(request).encode(), capture_output=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def result(onnx_file):
    path, _, _ = onnx_file
    size = path.stat().st_size
    rng = np.random.default_rng(0)
    # Every cut in the first and last 400 bytes (headers, metadata), 600 spread between.
    cuts = sorted({*range(0, min(400, size)), *range(max(0, size - 400), size),
                   *np.linspace(0, size - 1, 600).astype(int).tolist()})
    flips = [[int(o), int(x)] for o, x in zip(rng.integers(0, size, 300), rng.integers(1, 256, 300))]
    return run_bridge({"file": str(path), "cuts": cuts, "flips": flips,
                       "garbage": [[64, 0xFF], [64, 0x80], [1, 0xFF], [4096, 0xFF], [64, 0x00], [0, 0]],
                       "randomGarbage": [16, 64, 1024, 65536] * 5})


def test_intact_file_reads_as_exported(onnx_file, result):
    _, config, params = onnx_file
    full = result["full"]
    assert full["metadata"]["vocab_size"] == str(config.vocab_size)
    assert full["metadata"]["eot_id"] == "299"
    for name, rows in (("wte", config.vocab_size), ("wpe", config.block_size)):
        assert full["tensors"][name]["dims"] == [rows, config.n_embd]
        assert full["tensors"][name]["sum"] == pytest.approx(float(params[name].astype(np.float64).sum()), abs=1e-3)


def test_bad_bytes_fail_fast_with_a_named_error(result):
    cases = result["cases"]
    others = [c for c in cases if c["outcome"] not in ("ok", "LoadError")]
    assert others == [], others[:5]
    for c in cases:
        if c["outcome"] == "LoadError":
            assert c["message"].startswith("Could not load model.onnx: "), c
    slow = [c for c in cases if c["ms"] > MAX_CASE_MS]
    assert slow == [], slow[:5]
    # garbage is never taken for a model
    assert all(c["outcome"] == "LoadError" for c in cases if c["kind"] in ("garbage", "random"))


def test_a_cut_file_never_gives_wrong_values(result):
    """A cut at a field boundary may read as a shorter file; what it does read is right."""
    full = result["full"]
    for c in result["cases"]:
        if c["kind"] != "cut" or c["outcome"] != "ok":
            continue
        for key, value in c["metadata"].items():
            assert full["metadata"].get(key) == value, c
        for name, t in c["tensors"].items():
            assert t == full["tensors"][name], c
