"""Generation speed in the page (onnxruntime-web, wasm, one thread) vs onnxruntime in Python.

    .venv/bin/python bench/bench_generation.py            # builds a site (full model if built, else smoke)
    GUIDE_SITE_DIR=site .venv/bin/python bench/bench_generation.py

Prints figures, asserts nothing. Same model files (the site's assets/model/),
same prompt, same machine, one run each:

1. Throughput: greedy decoding of N tokens from the same prompt, not stopping
   at end-of-text, with the run file's sliding window. Python: the shipped
   run.py's Model.forward; page: model-runtime.js's Generation and choice
   functions (what the lab runs, without drawing). Then the lab itself
   (Generate button, drawing every frame) on the same prompt, for as many
   tokens as it writes before end-of-text or its limit.
2. Time from the first click on Generate to the first generated token, with
   the assets in the browser's HTTP cache (a returning reader): a persistent
   profile loads the page once, then a fresh page in it is timed.

Which model: GUIDE_SITE_DIR if set (whatever it holds); else the full model
when .cache/model/ already has it for the current code (no training here),
else smoke.
"""

import importlib.util
import json
import os
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
GEN = "/inference/generation/"

PAGE_LOOP = """async ([prompt, n, repeats]) => {
  const rt = await import(new URL("../../javascripts/model-runtime.js", location.href).href);
  const model = await rt.loadModel("model");
  const ids = model.tokenizer.encode(prompt);
  async function run(steps) {
    const gen = new rt.Generation(model, ids);
    await gen.start();
    for (let i = 0; i < steps; i++) {
      const pick = rt.choose(rt.distribution(gen.logits, { temperature: 0 }), null);
      await gen.append(pick.id);
    }
    return gen.generated;
  }
  async function best(steps) {
    await run(steps); // warm-up
    let ms = Infinity, out = null;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      out = await run(steps);
      ms = Math.min(ms, performance.now() - t0);
    }
    return { ms, ids: out };
  }
  const decodeSteps = model.blockSize - ids.length - 1;  // fits the window: KV-cache steps only
  return { sliding: await best(n), decode: await best(decodeSteps), decodeSteps };
}"""
REPEATS = 3


def pick_site():
    given = os.environ.get("GUIDE_SITE_DIR")
    if given:
        return Path(given).resolve(), "GUIDE_SITE_DIR"
    from model_export import build as model_build

    profile = "full" if model_build.artifact_dir("full").is_dir() else "smoke"
    os.environ["LLM_GUIDE_PROFILE"] = profile
    return _browser.build_site(Path(tempfile.mkdtemp(prefix="bench-gen-site-"))), f"fresh build, profile {profile}"


def python_loop(run, model, ids, n, repeats=REPEATS):
    """run.py's generate(), greedy, with end-of-text ignored: exactly n tokens (best of repeats)."""
    eot, model.eot_id = model.eot_id, None
    try:
        out = run.generate(model, ids, n, temperature=0.0)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = run.generate(model, ids, n, temperature=0.0)
            best = min(best, time.perf_counter() - t0)
        return best * 1000, out
    finally:
        model.eot_id = eot


def main():
    site, how = pick_site()
    model_dir = site / "assets" / "model"
    report = json.loads((model_dir / "report.json").read_text())
    spec = importlib.util.spec_from_file_location("shipped_run", model_dir / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    import onnxruntime

    tok = run.load_tokenizer(str(model_dir / "tokenizer.json"))
    model = run.Model(str(model_dir / "model.onnx"))
    ids = run.encode(tok, PROMPT)
    cfg = report["model"]
    print(f"site: {site} ({how})")
    print(f"model: profile {report['profile']}, {report['n_params']:,} parameters, "
          f"{cfg['n_layer']} layers, width {cfg['n_embd']}, window {cfg['block_size']}; "
          f"onnxruntime {onnxruntime.__version__} (Python, default threads), onnxruntime-web 1.30 (wasm, 1 thread)")
    print(f"prompt {PROMPT!r} ({len(ids)} tokens), {N_TOKENS} greedy tokens, end-of-text ignored, window slides as in run.py")

    py_ms, py_ids = python_loop(run, model, ids, N_TOKENS)
    decode_steps = cfg["block_size"] - len(ids) - 1
    py_dec_ms, py_dec_ids = python_loop(run, model, ids, decode_steps)

    from playwright.sync_api import sync_playwright

    with _browser.serve(site) as url, sync_playwright() as p:
        with tempfile.TemporaryDirectory(prefix="bench-gen-profile-") as profile_dir:
            ctx = _browser.launch_persistent(p, profile_dir, viewport={"width": 1200, "height": 900})
            ctx.set_default_timeout(120_000)
            page = ctx.new_page()
            page.goto(url + GEN, wait_until="networkidle")
            res = page.evaluate(PAGE_LOOP, [PROMPT, N_TOKENS, REPEATS])

            # the lab itself: Generate, drawing as it goes
            lab = page.locator(".generation-lab").first
            lab.locator(".lab-prompt").fill(PROMPT)
            lab.locator(".lab-settings summary").click()
            lab.locator(".lab-max-new").fill(str(N_TOKENS))
            lab.locator(".lab-generate").click()
            page.wait_for_function("n => n.dataset.state === 'done'", arg=lab.element_handle())
            lab_n = int(lab.get_attribute("data-generated-in-run"))
            lab_tps = float(lab.get_attribute("data-tokens-per-second"))
            page.close()

            # a returning reader: everything in the HTTP cache, a fresh page
            first = []
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

    def row(label, n, py_ms, page_ms, same):
        py_tps, page_tps = n / py_ms * 1000, n / page_ms * 1000
        print(f"{label}: Python {py_tps:7.0f} tokens/s ({py_ms / n:.3f} ms/token) | page {page_tps:7.0f} tokens/s "
              f"({page_ms / n:.3f} ms/token) | page/Python {page_tps / py_tps:.2f}x (target >= 0.5x) | same tokens: {same}")
        return py_tps

    print(f"best of {REPEATS} runs each, after one warm-up run")
    py_tps = row(f"{N_TOKENS} tokens, window sliding", N_TOKENS, py_ms, res["sliding"]["ms"], res["sliding"]["ids"] == py_ids)
    row(f"{decode_steps} tokens inside the window (KV-cache steps only)", decode_steps, py_dec_ms, res["decode"]["ms"],
        res["decode"]["ids"] == py_dec_ids)
    print(f"the lab's Generate (drawing every frame): {lab_tps:.0f} tokens/s over the {lab_n} tokens it wrote before "
          f"{'end-of-text' if lab_n < N_TOKENS else 'its limit'} -> {lab_tps / py_tps:.2f}x Python's sliding figure")
    print(f"first click -> first generated token, assets cached: {', '.join(f'{x:.0f}' for x in first)} ms "
          f"(median {sorted(first)[len(first) // 2]:.0f} ms; target < 1500 ms)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures are noisy when busy)")


if __name__ == "__main__":
    main()
