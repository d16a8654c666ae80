"""Would threads make the page's model faster? onnxruntime-web with 1 and 2 wasm threads vs onnxruntime in Python.

    .venv/bin/python bench/bench_threads.py                 # the full model if built, else smoke
    .venv/bin/python bench/bench_threads.py --onnx some/model.onnx --repeats 5

Prints figures, asserts nothing. onnxruntime-web runs wasm kernels on more than
one thread only in a cross-origin isolated page (COOP and COEP headers, which
GitHub Pages cannot send; a service worker can fake them). Before shipping
that machinery, this measures what it would buy: a bare page served here
*with* those headers times session.run of the site's model with numThreads 1
and 2, next to onnxruntime in Python with 1 and 2 intra-op threads, on the
two calls generation makes:

* window: one forward pass over block_size - 1 tokens (the sliding window,
  once the context is full: every new token re-reads the whole window);
* step: one token with a 100-token KV cache (generation before the window fills).

Each figure is the best over the repetitions, page and Python interleaved, so
both see the same load.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import _browser  # noqa: E402

ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")
ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}

PAGE = """<!doctype html><meta charset="utf-8"><title>threads</title><pre id="out"></pre>
<script type="module">
import * as ort from "./ort.wasm.min.mjs";
ort.env.wasm.wasmPaths = new URL("./", location.href).href;
ort.env.wasm.numThreads = Number(new URLSearchParams(location.search).get("threads"));
ort.env.wasm.proxy = false;
const session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
const shape = %(shape)s;  // past_key_values: [layers, 2, batch, heads, past, head size]
function feeds(T, past) {
  const ids = BigInt64Array.from({ length: T }, (_, i) => BigInt((i * 37) %% %(vocab)d));
  const kvShape = [shape[0], 2, 1, shape[3], past, shape[5]];
  return { input_ids: new ort.Tensor("int64", ids, [1, T]),
           past_key_values: new ort.Tensor("float32", new Float32Array(kvShape.reduce((a, b) => a * b)), kvShape) };
}
async function time(f, n) {
  for (let i = 0; i < 3; i++) await session.run(f);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await session.run(f);
  return (performance.now() - t0) / n;
}
window.__result = { isolated: self.crossOriginIsolated, threads: ort.env.wasm.numThreads,
                    window: await time(feeds(%(window)d, 0), 30), step: await time(feeds(1, 100), 200) };
</script>"""


def model_path(args):
    if args.onnx:
        return Path(args.onnx)
    from model_export import build as model_build

    for profile in ("full", "smoke"):
        path = model_build.artifact_dir(profile) / "model.onnx"
        if path.is_file():
            return path
    sys.exit("no model built for the current code: run `python -m model_export.build --profile smoke` first")


def python_times(onnx, threads, window, vocab, shape):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])

    def feeds(T, past):
        return {"input_ids": (np.arange(T, dtype=np.int64) * 37 % vocab)[None],
                "past_key_values": np.zeros((shape[0], 2, 1, shape[3], past, shape[5]), np.float32)}

    def timed(f, n):
        for _ in range(3):
            session.run(None, f)
        t0 = time.perf_counter()
        for _ in range(n):
            session.run(None, f)
        return (time.perf_counter() - t0) / n * 1000

    return {"window": timed(feeds(window, 0), 30), "step": timed(feeds(1, 100), 200)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", help="the model to time (default: the built full model, else smoke)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repetitions, best kept (default 3)")
    args = ap.parse_args()
    onnx = model_path(args)
    import onnx as onnx_lib

    graph = onnx_lib.load(str(onnx), load_external_data=False).graph
    dims = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in graph.input}
    vocab = [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim][-1]
    shape = dims["past_key_values"]
    report = json.loads((onnx.parent / "report.json").read_text()) if (onnx.parent / "report.json").is_file() else {}
    window = report.get("model", {}).get("block_size", 128) - 1

    tmp = Path(tempfile.mkdtemp(prefix="bench-threads-"))
    try:
        for name in ORT_FILES:
            shutil.copyfile(ORT_DIST / name, tmp / name)
        shutil.copyfile(onnx, tmp / "model.onnx")
        (tmp / "index.html").write_text(PAGE % {"shape": json.dumps([s if isinstance(s, int) else 0 for s in shape]),
                                                "vocab": vocab, "window": window})
        best: dict[str, dict[str, float]] = {}

        def keep(label, result):
            for k in ("window", "step"):
                best.setdefault(label, {})[k] = min(best.get(label, {}).get(k, float("inf")), result[k])

        from playwright.sync_api import sync_playwright

        with _browser.serve(tmp, headers=ISOLATION) as base, sync_playwright() as p:
            browser = _browser.launch(p)
            for _ in range(args.repeats):
                for threads in (1, 2):
                    page = browser.new_page()
                    page.goto(f"{base}/index.html?threads={threads}")
                    page.wait_for_function("window.__result", timeout=180_000)
                    result = page.evaluate("window.__result")
                    page.close()
                    if not result["isolated"]:
                        sys.exit("the page was not cross-origin isolated: threads would not run")
                    keep(f"page, {threads} thread{'s' * (threads > 1)}", result)
                for threads in (1, 2):
                    keep(f"Python, {threads} thread{'s' * (threads > 1)}",
                         python_times(onnx, threads, window, vocab, shape))
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"model: {onnx}; window = {window} tokens, step = 1 token after 100 cached")
    print(f"{'':22}{'window ms':>11}{'step ms':>10}")
    for label, r in best.items():
        print(f"{label:22}{r['window']:11.2f}{r['step']:10.3f}")
    p1, p2, y1 = best["page, 1 thread"], best["page, 2 threads"], best["Python, 1 thread"]
    for k in ("window", "step"):
        print(f"{k}: page with 2 threads is {p1[k] / p2[k]:.2f}x as fast as with 1; "
              f"page (1 thread) is {y1[k] / p1[k]:.2f}x Python (1 thread)'s speed")


if __name__ == "__main__":
    main()
