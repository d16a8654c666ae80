"""One sampler in three places: model_export/decoding.py (the build), run.py's
compact copy (the file a reader downloads) and docs/javascripts/sampling.js
(the page's demos) must choose the same tokens for the same float32 logits,
seed, temperature, top-k and top-p, and draw the same random numbers.

The JavaScript runs in one node process per batch (tests/js/sampling_bridge.mjs).
"""

import base64
import importlib.util
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

from model_export import decoding  # noqa: E402

NODE = shutil.which("node")
BRIDGE = ROOT / "tests/js/sampling_bridge.mjs"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

SEEDS = [0, 1, 2, 42, 1234, 2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 63, 2 ** 64 - 2]


def load_run_file():
    """run.py imported by path, as a reader would use it."""
    spec = importlib.util.spec_from_file_location("standalone_run", ROOT / "model_export/run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_js(payload: dict) -> dict:
    proc = subprocess.run([NODE, str(BRIDGE)], input=json.dumps(payload).encode(), capture_output=True,
                          cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def random_cases(n: int, seed: int) -> list[dict]:
    """Logits of the model's kind (and harder ones: ties, masked tokens, huge
    spreads), with greedy, cold, plain and hot temperatures, top-k and top-p."""
    r = np.random.default_rng(seed)
    cases = []
    for t in range(n):
        V = int(r.choice([2, 3, 17, 100, 512, 512, 512]))
        logits = r.normal(float(r.uniform(-5, 5)), float(r.choice([0.1, 1.0, 3.0, 8.0, 60.0])), V).astype(np.float32)
        if t % 4 == 1:                                    # ties: many tokens share a few values
            logits = np.round(logits).astype(np.float32)
        masked = r.choice(V, int(r.integers(0, V)), replace=False).tolist() if t % 3 == 2 else []
        cases.append({"logits": logits, "masked": masked,
                      "temperature": float(r.choice([0.0, 0.01, 0.3, 0.7, 1.0, 1.0, 1.3, 2.5])),
                      "topK": int(r.choice([0, 0, 1, 2, 10, 40, 600])),
                      "topP": float(r.choice([1.0, 1.0, 0.999, 0.9, 0.5, 0.05])),
                      "seed": SEEDS[int(r.integers(len(SEEDS)))] if t % 2 else int(r.integers(0, 2 ** 63)),
                      "draws": 12})
    return cases


def with_mask(c: dict) -> np.ndarray:
    logits = c["logits"].copy()
    logits[c["masked"]] = -np.inf
    return logits


def payload(cases):
    return [{**c, "logits": base64.b64encode(c["logits"].astype("<f4").tobytes()).decode(), "seed": str(c["seed"])}
            for c in cases]


def test_the_same_random_numbers():
    run = load_run_file()
    got = run_js({"streams": {"seeds": [str(s) for s in SEEDS], "n": 1000}})["streams"]
    for seed, js in zip(SEEDS, got):
        py, rf = decoding.XorShift(seed), run.XorShift(seed)
        want = [py.random() for _ in range(1000)]
        assert js == want, seed
        assert [rf.random() for _ in range(1000)] == want, seed


def test_the_same_tokens(capsys):
    """Twelve draws from each of 400 distributions: the same token ids in all three, and the
    same kept tokens in the same order; their probabilities agree to rounding (printed: how
    many are bit for bit equal; numpy's exp and V8's Math.exp may round differently)."""
    run = load_run_file()
    cases = random_cases(400, 0)
    js = run_js({"cases": payload(cases)})
    same_bits = total = 0
    for k, (c, got) in enumerate(zip(cases, js["cases"])):
        logits, settings = with_mask(c), (c["temperature"], c["topK"], c["topP"])
        rng, rf_rng = decoding.XorShift(c["seed"]), run.XorShift(c["seed"])
        py = [decoding.sample(logits, rng, *settings) for _ in range(c["draws"])]
        rows = decoding.sample_rows(np.tile(logits, (c["draws"], 1)), decoding.XorShift(c["seed"]), *settings)
        assert got["ids"] == py == rows.tolist(), (k, c["temperature"], c["topK"], c["topP"])
        if not c["masked"]:  # run.py has no mask
            assert [run.sample(logits, rf_rng, *settings) for _ in range(c["draws"])] == py, k
        dist = decoding.distribution(logits, *settings)
        ids, probs = zip(*got["final"])
        assert list(ids) == dist.ids.tolist(), k
        assert np.allclose(probs, dist.probs, rtol=1e-12, atol=0), k
        same_bits += int(np.sum(np.array(probs) == dist.probs))
        total += len(probs)
    with capsys.disabled():
        print(f"\n[sampling twins] {same_bits} of {total} kept probabilities bit for bit equal in Python and JS; "
              f"{js['msPerChoice']:.3f} ms per distribution + choose in node")


def test_bad_seeds_are_refused_in_javascript():
    for seed in ("-1", str(2 ** 64 - 1)):
        request = json.dumps({"streams": {"seeds": [seed], "n": 1}}).encode()
        proc = subprocess.run([NODE, str(BRIDGE)], input=request, capture_output=True, cwd=ROOT, timeout=60,
                              check=False)
        assert proc.returncode != 0 and b"seed must be a whole number" in proc.stderr
