"""Generation speed in the page (onnxruntime-web, wasm, one thread) vs onnxruntime in Python.

    .venv/bin/python bench/bench_generation.py            # builds a site (full model if built, else smoke)
    GUIDE_SITE_DIR=site .venv/bin/python bench/bench_generation.py
    .venv/bin/python bench/bench_generation.py --site DIR --repeats 7 --tokens 200
    .venv/bin/python bench/bench_generation.py --site DIR --onnx /tmp/other.onnx   # another export of the same model

Prints figures, asserts nothing. Same model file, same prompt, same machine, one
run, and both sides under the same load: the Python and page repetitions are
interleaved (Python default threads, Python one thread, page, then again), and
each figure is the best of its repetitions after one warm-up.

1. Throughput: greedy decoding of N tokens from the same prompt, not stopping
   at end-of-text, with the run file's sliding window (once the window is
   full, every step re-reads the last block_size - 1 tokens from scratch).
   Python: the shipped run.py's generate() over onnxruntime; page: model-runtime.js's
   Generation and choice functions (what the lab runs, without drawing). Then
   the tokens that fit the window (KV-cache steps only). Python is measured
   with onnxruntime's default threads (the issue's comparison) and with
   intra_op_num_threads=1 (the page has one thread: multi-threaded wasm needs
   cross-origin isolation, which GitHub Pages cannot provide), and where each
   side's time goes is printed: the page's session.run (onnxruntime-web: input
   copies into wasm, the kernels, output copies out) vs its JavaScript around it.
   On a busy machine wall-clock figures swing (Python's thread pool suffers most),
   so the CPU time of the page's main thread and of Python's one thread is
   printed too: the least of each, a ratio that hardly depends on the load.
2. The lab itself (Generate button, drawing every frame) on the same prompt,
   for as many tokens as it writes before end-of-text or its limit.
3. Time from the first click on Generate to the first generated token, with
   the assets in the browser's HTTP cache (a returning reader): a persistent
   profile loads the page once, then a fresh page in it is timed.

Which model: --site or GUIDE_SITE_DIR if given (whatever it holds); else the
full model when .cache/model/ already has it for the current code (no
training here), else smoke. --onnx replaces the site's model.onnx (in a copy
of the site) on both sides, to measure another export of the same weights.
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import _browser  # noqa: E402

PROMPT = "The capital of France is"
N_TOKENS = 200
REPEATS = 5
GEN = "/inference/generation/"

# Sets window.__bench.run(steps): one greedy generation of `steps` tokens in the
# page, returning the ids, the total time and the time inside session.run.
PAGE_SETUP = """async ([prompt]) => {
  const rt = await import(new URL("../../javascripts/model-runtime.js", location.href).href);
  const model = await rt.loadModel("model");
  const ids = model.tokenizer.encode(prompt);
  async function run(steps) {
    const t0 = performance.now();
    const gen = new rt.Generation(model, ids);
    let runMs = (await gen.start()).ms;
    for (let i = 0; i < steps; i++) {
      const pick = rt.choose(rt.distribution(gen.logits, { temperature: 0 }), null);
      runMs += (await gen.append(pick.id)).ms;
    }
    return { ms: performance.now() - t0, runMs, ids: gen.generated };
  }
  window.__bench = { run };
  await run(8); // compile and warm the session
  return { promptTokens: ids.length, blockSize: model.blockSize };
}"""


def pick_site(args):
    given = args.site or os.environ.get("GUIDE_SITE_DIR")
    if given:
        return Path(given).resolve(), "given"
    from model_export import build as model_build

    profile = "full" if model_build.artifact_dir("full").is_dir() else "smoke"
    os.environ["LLM_GUIDE_PROFILE"] = profile
    return _browser.build_site(Path(tempfile.mkdtemp(prefix="bench-gen-site-"))), f"fresh build, profile {profile}"


class OnnxModel:
    """The page's model.onnx in Python's onnxruntime, shaped for run.py's
    generate(): run.py computes the forward pass in numpy, so the bench swaps
    in onnxruntime for it (onnx_forward, onnx_cache) to compare the same
    graph on both sides."""

    def __init__(self, path, block_size, eot_id, threads=None):
        import numpy as np
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.block_size, self.eot_id = block_size, eot_id
        n_layer, _, _, n_head, _, head_dim = self.session.get_inputs()[1].shape
        self.empty_past = np.zeros((n_layer, 2, 1, n_head, 0, head_dim), np.float32)


def onnx_cache(model):
    return [model.empty_past]


def onnx_forward(model, ids, cache):
    import numpy as np

    logits, cache[0] = model.session.run(["logits", "present_key_values"],
                                         {"input_ids": np.array([ids], np.int64), "past_key_values": cache[0]})
    return logits[0]


def python_run(run, model, ids, n):
    """run.py's generate() over onnxruntime, greedy, end-of-text ignored: exactly n tokens.
    Returns (ms, session.run ms, ids, CPU ms of this thread)."""
    inner = {"ms": 0.0}

    def timed(*a):
        t = time.perf_counter()
        try:
            return onnx_forward(*a)
        finally:
            inner["ms"] += (time.perf_counter() - t) * 1000

    saved = run.forward, run.new_cache, model.eot_id
    run.forward, run.new_cache, model.eot_id = timed, onnx_cache, None
    try:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = run.generate(model, ids, n, temperature=0.0)
        return (time.perf_counter() - t0) * 1000, inner["ms"], out, (time.thread_time() - c0) * 1000
    finally:
        run.forward, run.new_cache, model.eot_id = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site", help="a built site (default: GUIDE_SITE_DIR, else a fresh build)")
    ap.add_argument("--onnx", help="measure this .onnx instead of the site's model.onnx (same weights, another export)")
    ap.add_argument("--tokens", type=int, default=N_TOKENS, help=f"tokens for the sliding-window figure (default {N_TOKENS})")
    ap.add_argument("--repeats", type=int, default=REPEATS, help=f"timed repetitions per figure, best kept (default {REPEATS})")
    ap.add_argument("--skip-lab", action="store_true", help="only the throughput figures")
    args = ap.parse_args()

    site, how = pick_site(args)
    tmp_site = None
    if args.onnx:
        tmp_site = Path(tempfile.mkdtemp(prefix="bench-gen-onnx-"))
        shutil.copytree(site, tmp_site / "site", symlinks=False)
        site = tmp_site / "site"
        _browser.replace_model_file(site, "model.onnx", Path(args.onnx).read_bytes())  # and its manifest entry
        how += f", model.onnx replaced by {args.onnx}"
    try:
        measure(site, how, args)
    finally:
        if tmp_site:
            shutil.rmtree(tmp_site, ignore_errors=True)


def measure(site, how, args):
    model_dir = site / "assets" / "model"
    report = json.loads((model_dir / "report.json").read_text())
    spec = importlib.util.spec_from_file_location("shipped_run", model_dir / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    import onnxruntime

    tok = run.Model(model_dir / "model.safetensors").tokenizer
    onnx_path = str(model_dir / "model.onnx")
    cfg = report["model"]
    py_default = OnnxModel(onnx_path, cfg["block_size"], report["tokenizer"]["eot_id"])  # default session options
    py_one = OnnxModel(onnx_path, cfg["block_size"], report["tokenizer"]["eot_id"], threads=1)
    ids = run.encode(tok, PROMPT)
    n = args.tokens
    decode_steps = cfg["block_size"] - len(ids) - 1
    web_version = json.loads((ROOT / "node_modules" / "onnxruntime-web" / "package.json").read_text())["version"]
    print(f"site: {site} ({how})")
    print(f"model: profile {report['profile']}, {report['n_params']:,} parameters, "
          f"{cfg['n_layer']} layers, width {cfg['n_embd']}, window {cfg['block_size']}; "
          f"onnxruntime {onnxruntime.__version__} (Python; default threads = one per core, {os.cpu_count()} CPUs here), "
          f"onnxruntime-web {web_version} (wasm, 1 thread)")
    print(f"prompt {PROMPT!r} ({len(ids)} tokens), greedy, end-of-text ignored, window slides as in run.py")

    from playwright.sync_api import sync_playwright

    series = {"sliding": n, "decode": decode_steps}
    best = {(side, name): None for side in ("py", "py1", "page") for name in series}
    cpu_best = {}  # least CPU time per run (page main thread; Python's thread: meaningful for 1 thread)
    loads = []
    with _browser.serve(site) as url, sync_playwright() as p:
        with tempfile.TemporaryDirectory(prefix="bench-gen-profile-") as profile_dir:
            ctx = _browser.launch_persistent(p, profile_dir, viewport={"width": 1200, "height": 900})
            ctx.set_default_timeout(180_000)
            page = ctx.new_page()
            page.goto(url + GEN, wait_until="networkidle")
            page.evaluate(PAGE_SETUP, [PROMPT])
            cdp = ctx.new_cdp_session(page)
            cdp.send("Performance.enable", {"timeDomain": "threadTicks"})

            def thread_time():  # CPU seconds of the page's main thread (where the wasm runs: no proxy worker)
                return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "ThreadTime")

            def page_run(steps):
                c0 = thread_time()
                r = page.evaluate("s => window.__bench.run(s)", steps)
                return r["ms"], r["runMs"], r["ids"], (thread_time() - c0) * 1000

            sides = {"py": lambda s: python_run(run, py_default, ids, s),
                     "py1": lambda s: python_run(run, py_one, ids, s),
                     "page": page_run}
            for rep in range(args.repeats + 1):  # rep 0: warm-up
                order = list(sides)[rep % 3:] + list(sides)[:rep % 3]  # rotate who goes first
                for name, steps in series.items():
                    for side in order:
                        fn = sides[side]
                        ms, inner, out, cpu = fn(steps)
                        if rep and (best[side, name] is None or ms < best[side, name][0]):
                            best[side, name] = (ms, inner, out)
                        if rep:
                            cpu_best[side, name] = min(cpu_best.get((side, name), float("inf")), cpu)
                loads.append(os.getloadavg()[0])

            lab_n = lab_tps = None
            if not args.skip_lab:
                # the lab itself: Generate, drawing as it goes
                lab = page.locator(".generation-lab").first
                lab.locator(".lab-prompt").fill(PROMPT)
                lab.locator(".lab-settings summary").click()
                lab.locator(".lab-max-new").fill(str(n))
                lab.locator(".lab-generate").click()
                page.wait_for_function("n => n.dataset.state === 'done'", arg=lab.element_handle())
                lab_n = int(lab.get_attribute("data-generated-in-run"))
                lab_tps = float(lab.get_attribute("data-tokens-per-second"))
            page.close()

            first = []
            if not args.skip_lab:
                # a returning reader: everything in the HTTP cache, a fresh page
                for _ in range(3):
                    page = ctx.new_page()
                    page.goto(url + GEN, wait_until="networkidle")
                    lab = page.locator(".generation-lab").first
                    lab.locator(".lab-generate").click()
                    page.wait_for_function("n => n.dataset.firstTokenMs !== undefined", arg=lab.element_handle())
                    first.append(float(lab.get_attribute("data-first-token-ms")))
                    page.close()
            ctx.close()

    print()
    print(f"best of {args.repeats} runs each after one warm-up; Python and page runs interleaved, so both saw the same load")
    for name, steps in series.items():
        label = (f"{steps} tokens, window sliding (after {cfg['block_size'] - len(ids) - 1} KV-cache steps, "
                 f"every step re-reads {cfg['block_size'] - 1} tokens)" if name == "sliding"
                 else f"{steps} tokens inside the window (KV-cache steps only)")
        tps = {side: steps / best[side, name][0] * 1000 for side in sides}
        ms_tok = {side: best[side, name][0] / steps for side in sides}
        same = best["page", name][2] == best["py", name][2] == best["py1", name][2]
        print(f"{label}:")
        print(f"  Python, default threads: {tps['py']:7.0f} tokens/s ({ms_tok['py']:.3f} ms/token)")
        print(f"  Python, 1 thread:        {tps['py1']:7.0f} tokens/s ({ms_tok['py1']:.3f} ms/token)")
        print(f"  page (wasm, 1 thread):   {tps['page']:7.0f} tokens/s ({ms_tok['page']:.3f} ms/token)"
              f" | page/Python {tps['page'] / tps['py']:.2f}x (target >= 0.5x), "
              f"page/Python 1 thread {tps['page'] / tps['py1']:.2f}x | same tokens: {same}")
        page_ms, page_run_ms = best["page", name][:2]
        py1_ms, py1_run_ms = best["py1", name][:2]
        print(f"  where the page's time goes: session.run {page_run_ms / steps:.3f} ms/token "
              f"({100 * page_run_ms / page_ms:.1f}%), JavaScript around it (tensors, choice, window) "
              f"{(page_ms - page_run_ms) / steps:.3f} ms/token; Python 1 thread: session.run "
              f"{py1_run_ms / steps:.3f} ms/token ({100 * py1_run_ms / py1_ms:.1f}%)")
        page_cpu, py1_cpu = cpu_best["page", name] / steps, cpu_best["py1", name] / steps
        print(f"  CPU time (what each would do on a core of its own, whatever the load): page {page_cpu:.3f} ms/token, "
              f"Python 1 thread {py1_cpu:.3f} ms/token -> page/Python 1 thread {py1_cpu / page_cpu:.2f}x")
    py_tps = series["sliding"] / best["py", "sliding"][0] * 1000
    if lab_tps is not None:
        print(f"the lab's Generate (drawing every frame): {lab_tps:.0f} tokens/s over the {lab_n} tokens it wrote before "
              f"{'end-of-text' if lab_n < n else 'its limit'} -> {lab_tps / py_tps:.2f}x Python's sliding figure")
    if first:
        print(f"first click -> first generated token, assets cached: {', '.join(f'{x:.0f}' for x in first)} ms "
              f"(median {sorted(first)[len(first) // 2]:.0f} ms; target < 1500 ms)")
    print(f"load average while measuring: {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} CPUs "
          f"(figures are noisy when busy; the ratios less so)")


if __name__ == "__main__":
    main()
