"""How long a reader waits for Python: bare Pyodide boot, and the site's first Run.

(a) bare: a minimal page (written to a temp folder served next to the site's
    vendor/pyodide) starts a module Web Worker that imports pyodide.mjs, calls
    loadPyodide() and runs print(1); timed from `new Worker` to the "1" arriving
    back in the page (also: when loadPyodide() resolved, in the worker).
(b) site: the layer page, Run on cell 0 (stdlib only); timed in the page from
    the click to the first browser output and to the status reading "Ran...".

Each is measured 3 times: a fresh browser profile on disk (empty cache:
"cold"), then a second page in that same profile (HTTP disk cache and wasm
code cache warm: "warm").
The server sends Cache-Control: max-age=600 like GitHub Pages. Figures only.

    .venv/bin/python bench/pyodide_boot.py [--repeat 3]
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _browser  # noqa: E402

BOOT_HTML = """<!doctype html><meta charset="utf-8"><title>bare pyodide boot</title>
<script>
window.boot = () => new Promise((resolve, reject) => {
  const t0 = performance.timeOrigin + performance.now();
  const w = new Worker("boot-worker.mjs", {type: "module"});
  const marks = {};
  w.onerror = (e) => reject(new Error("worker error: " + e.message));
  w.onmessage = ({data}) => {
    if (data.error) return reject(new Error(data.error));
    if (data.mark) marks[data.mark] = data.t - t0;
    if (data.out === "1") { marks.first_output = performance.timeOrigin + performance.now() - t0; w.terminate(); resolve(marks); }
  };
});
</script>"""

BOOT_WORKER = """
const now = () => performance.timeOrigin + performance.now();
try {
  const { loadPyodide } = await import("./vendor/pyodide/pyodide.mjs");
  postMessage({mark: "imported", t: now()});
  const py = await loadPyodide({
    indexURL: new URL("./vendor/pyodide/", location.href).href,
    stdout: (s) => postMessage({out: s}),
  });
  postMessage({mark: "loadPyodide", t: now()});
  py.runPython("print(1)");
} catch (e) { postMessage({error: String(e)}); }
"""

# Installed before the click: records, in page time, the first moment the
# cell's output comes from the browser and the moment its status reads "Ran".
SITE_CLICK = """c => new Promise((resolve, reject) => {
  const out = {};
  const t0 = performance.now();
  const check = () => {
    const now = performance.now() - t0;
    if (out.first_output === undefined && c.querySelector('.pycell-output')?.dataset.origin === 'browser'
        && c.querySelector('.pycell-output').children.length) out.first_output = now;
    const s = c.querySelector('.pycell-status')?.textContent.trim() || '';
    if (s !== out.last_status) { out.last_status = s; (out.statuses ||= []).push([Math.round(now), s]); }
    if (s.startsWith('Ran') && !c.classList.contains('running')) { out.ran = now; obs.disconnect(); resolve(out); }
    if (c.querySelector('.pycell-notice, .pycell-error')) { obs.disconnect(); reject(new Error(c.innerText)); }
  };
  const obs = new MutationObserver(check);
  obs.observe(c, {subtree: true, childList: true, characterData: true, attributes: true});
  c.querySelector('.pycell-run').click();
  setTimeout(() => { obs.disconnect(); reject(new Error('timeout: ' + out.last_status)); }, 120000);
})"""


def bare_boot(page, base):
    page.goto(base + "/__bench/boot.html")
    return page.evaluate("boot()")


def site_run(page, base):
    page.goto(base + "/neural-networks/layer/", wait_until="networkidle")
    cell = page.locator('.pycell[data-cell="0"]')
    return page.evaluate(SITE_CLICK, cell.element_handle())


def fmt(ms):
    return f"{ms / 1000:6.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    results = {"bare": [], "site": []}
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(_browser.built_site())
        # Serve a folder holding the site plus the bare page: symlinks keep the site untouched.
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="guide-boot-")))
        for entry in site.iterdir():
            os.symlink(entry, root / entry.name)
        (root / "__bench").mkdir()
        (root / "__bench" / "boot.html").write_text(BOOT_HTML)
        (root / "__bench" / "boot-worker.mjs").write_text(BOOT_WORKER)
        os.symlink(site / "vendor", root / "__bench" / "vendor")
        base = stack.enter_context(_browser.serve(root, cache_control="max-age=600"))
        p = stack.enter_context(sync_playwright())
        for name, fn in (("bare", bare_boot), ("site", site_run)):
            for _ in range(args.repeat):
                # A fresh on-disk profile per repeat: an in-memory context cache
                # would refetch the 9.6 MB wasm every time (Chromium's memory
                # cache refuses entries that large), which no reader sees.
                with tempfile.TemporaryDirectory(prefix="guide-profile-") as profile:
                    ctx = _browser.launch_persistent(p, profile)
                    cold = fn(ctx.new_page(), base)
                    warm = fn(ctx.new_page(), base)
                    ctx.close()
                results[name].append((cold, warm))

    print(f"site: {site}\nseconds; cold = fresh profile, warm = second page in the same profile\n")
    print("(a) bare Pyodide in a module worker: new Worker -> print(1) output")
    print(f"{'run':>4} {'cold import':>12} {'cold boot':>10} {'cold out':>9}   {'warm import':>12} {'warm boot':>10} {'warm out':>9}")
    for i, (c, w) in enumerate(results["bare"], 1):
        print(f"{i:4d} {fmt(c['imported']):>12} {fmt(c['loadPyodide']):>10} {fmt(c['first_output']):>9}   "
              f"{fmt(w['imported']):>12} {fmt(w['loadPyodide']):>10} {fmt(w['first_output']):>9}")
    print("\n(b) site, layer page, Run on cell 0: click -> first output / status 'Ran'")
    print(f"{'run':>4} {'cold output':>12} {'cold Ran':>9}   {'warm output':>12} {'warm Ran':>9}")
    for i, (c, w) in enumerate(results["site"], 1):
        print(f"{i:4d} {fmt(c.get('first_output', float('nan'))):>12} {fmt(c['ran']):>9}   "
              f"{fmt(w.get('first_output', float('nan'))):>12} {fmt(w['ran']):>9}")
    for name, key in (("bare", "first_output"), ("site", "ran")):
        cold = statistics.median(c[key] for c, _ in results[name]) / 1000
        warm = statistics.median(w[key] for _, w in results[name]) / 1000
        print(f"median {name}: cold {cold:.2f} s, warm {warm:.2f} s")
    print("\nstatus texts seen during the last cold site run (ms after click):")
    for t, s in results["site"][-1][0].get("statuses", []):
        print(f"  {t:6d}  {s}")


if __name__ == "__main__":
    main()
