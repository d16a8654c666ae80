"""The runnable cells in a real browser: real Pyodide in a Web Worker, offline.

Contract under test (docs/javascripts/cells.js and its worker): each
``.pycell`` gets Run / Stop / Reset buttons and a status; clicking the code
opens a CodeMirror editor; Run boots Pyodide lazily, runs earlier cells first,
and writes the same output markup the build wrote; Stop kills a runaway cell
within 2 s; a numpy cell with numpy unreachable says so plainly and keeps the
build's output. The whole suite shares one chromium; each test has its own
context, so each boots its own interpreter (4-10 s here).
"""

import difflib
import re
import urllib.parse

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

LAYER = "/neural-networks/layer/"
ATTENTION = "/transformer/self-attention/"

# Substrings of URLs that only a reader's action may fetch: the Python
# runtime, ONNX Runtime and models, and the editor's ES modules.
HEAVY = ("pyodide.asm", "python_stdlib", ".onnx", "/vendor/npm/", "/vendor/onnxruntime-web/")
# ONNX Runtime's files by name (ort.wasm.min.mjs, ort-wasm-simd-threaded.wasm);
# a bare "ort" substring would also match words like "support" or "import".
ORT_FILE = re.compile(r"/ort[-.][^/]*$")


def items_text(items):
    """Output items as lines, each prefixed by its kind, for readable diffs."""
    return [f"{kind}: {line}" for kind, text in items for line in text.split("\n")]


def heavy_requests(urls):
    return [u for u in urls if any(h in u for h in HEAVY) or ORT_FILE.search(urllib.parse.urlsplit(u).path)]


def test_every_built_page_is_covered(site_pages, expected_pages):
    # The per-page tests are parametrized from docs/ (known before the build).
    assert sorted(site_pages) == sorted(expected_pages)


def test_cells_get_controls(guide):
    page = guide.open(LAYER)
    cells = page.locator(".pycell")
    n = cells.count()
    assert n >= 3
    for i in range(n):
        bar = guide.cell(i).locator(".pycell-bar")
        assert bar.locator("button.pycell-run").count() == 1, f"cell {i}: no Run button"
        assert bar.locator("button.pycell-stop").count() == 1, f"cell {i}: no Stop button"
        assert bar.locator("button.pycell-reset").count() == 1, f"cell {i}: no Reset button"
        assert bar.locator("span.pycell-status").count() == 1, f"cell {i}: no status"
        assert bar.locator("button.pycell-stop").is_disabled(), f"cell {i}: Stop enabled while idle"
        assert bar.locator("span.pycell-status").get_attribute("aria-live"), f"cell {i}: status not aria-live"


# 1 -------------------------------------------------------------------------------------
def test_stdlib_cell_run_matches_build_output(guide):
    guide.open(LAYER)
    cell = guide.cell(0)
    assert cell.get_attribute("data-needs") == "", "cell 0 should be the stdlib-only one"
    built = guide.output_items(cell)
    assert built and guide.origin(cell) == "build"

    guide.run(cell)
    guide.wait_ran(cell)

    assert guide.origin(cell) == "browser"
    assert guide.output_items(cell) == built
    assert not guide.unexpected_console_errors()


# 2 -------------------------------------------------------------------------------------
def test_edit_run_and_reset(guide):
    guide.open(LAYER)
    cell = guide.cell(0)
    original = guide.source(cell)
    built = guide.output_items(cell)

    guide.replace_code(cell, "print(6 * 7)")
    assert guide.editor_text(cell) == "print(6 * 7)"
    guide.run(cell)
    guide.wait_ran(cell)
    assert guide.output_items(cell) == [["pycell-stdout", "42\n"]], guide.state(cell)

    cell.locator(".pycell-reset").click()
    expect(cell.locator(".pycell-status")).to_have_text("Original code restored.")
    # Reset restores the source, whether it keeps the editor open or shows the code view again.
    if cell.locator(".cm-editor").is_visible():
        shown = guide.editor_text(cell)
    else:
        shown = cell.locator(".pycell-code").inner_text()
    assert shown.rstrip("\n") == original.rstrip("\n")
    assert guide.source(cell) == original, "Reset must not change the stored original source"

    # The restored code is what runs next.
    guide.run(cell)
    guide.wait_ran(cell)
    assert guide.output_items(cell) == built


def test_enter_on_code_opens_editor_and_loads_it_only_then(guide):
    page = guide.open(LAYER)
    assert not [u for u in guide.requests if "/vendor/npm/" in u]
    code = guide.cell(0).locator(".pycell-code")
    code.focus()
    page.keyboard.press("Enter")
    guide.cell(0).locator(".cm-editor").wait_for(state="visible", timeout=30_000)
    assert [u for u in guide.requests if "/vendor/npm/" in u], "editor modules not from /vendor/npm/"
    assert guide.cell(0).locator(".cm-content").get_attribute("contenteditable") == "true"
    assert guide.editor_text(guide.cell(0)).rstrip("\n") == guide.source(guide.cell(0)).rstrip("\n")
    assert not guide.unexpected_console_errors()
    assert not guide.page_errors


# 3 -------------------------------------------------------------------------------------
def test_stop_interrupts_a_runaway_cell(guide):
    page = guide.open(LAYER)
    cell = guide.cell(0)
    built = guide.output_items(cell)
    stop = cell.locator(".pycell-stop")

    # Boot the interpreter first, so that Stop interrupts running Python, not a boot.
    guide.run(cell)
    guide.wait_ran(cell)

    guide.replace_code(cell, "while True: pass")
    guide.run(cell)
    page.wait_for_function("c => c.classList.contains('running')", arg=cell.element_handle(), timeout=10_000)
    assert stop.is_enabled(), "Stop must be enabled while running"
    page.wait_for_timeout(500)  # let the loop spin
    assert "running" in cell.get_attribute("class"), "a `while True: pass` cell stopped by itself"

    # Time it inside the page, from the click event to the cell leaving its
    # running state: what the reader sees, without Playwright's own round trips
    # (which a loaded CI machine can stretch past the budget on their own).
    page.evaluate("""c => {
        window.__stopTiming = {};
        c.querySelector('.pycell-stop').addEventListener('click',
            () => { window.__stopTiming.clicked = performance.now(); }, { capture: true, once: true });
        new MutationObserver((_, observer) => {
            if (!c.classList.contains('running')) {
                window.__stopTiming.stopped = performance.now();
                observer.disconnect();
            }
        }).observe(c, { attributes: true, attributeFilter: ['class'] });
    }""", cell.element_handle())
    stop.click()
    page.wait_for_function("c => !c.classList.contains('running')", arg=cell.element_handle(), timeout=10_000, polling=20)
    timing = page.evaluate("window.__stopTiming")
    elapsed = (timing["stopped"] - timing["clicked"]) / 1000
    print(f"Stop took {elapsed:.3f} s")
    assert elapsed < 2.0, f"Stop took {elapsed:.2f} s"

    errors = cell.locator(".pycell-output pre.pycell-error")
    assert errors.count() >= 1, guide.state(cell)
    assert "Stopped" in errors.last.text_content()
    assert stop.is_disabled()

    # A fresh interpreter: Reset, Run, and the original output comes back.
    cell.locator(".pycell-reset").click()
    guide.run(cell)
    guide.wait_ran(cell)
    assert guide.output_items(cell) == built
    assert not guide.unexpected_console_errors()
    assert not guide.page_errors


# 4 -------------------------------------------------------------------------------------
def test_numpy_cell_offline_notice_keeps_build_output(guide):
    guide.open(LAYER)
    numpy_cell, dependent = guide.cell(1), guide.cell(2)
    assert "numpy" in numpy_cell.get_attribute("data-needs").split()
    built = {i: guide.output_items(guide.cell(i)) for i in (1, 2)}

    guide.run(numpy_cell)
    guide.wait_notice(numpy_cell)
    notice = numpy_cell.locator(".pycell-notice")
    assert notice.count() == 1
    text = notice.text_content()
    assert "offline" in text.lower() and "numpy" in text, text
    assert guide.origin(numpy_cell) == "build"
    assert guide.output_items(numpy_cell) == built[1]

    # Cell 2 imports nothing itself but uses cell 1's names: it cannot run
    # without numpy either, and must say so rather than show a NameError.
    guide.run(dependent)
    guide.wait_notice(dependent)
    assert "offline" in dependent.locator(".pycell-notice").text_content().lower()
    assert guide.origin(dependent) == "build"
    assert guide.output_items(dependent) == built[2]

    assert not guide.unexpected_console_errors()
    assert not guide.page_errors


# 5 -------------------------------------------------------------------------------------
def off_site(guide):
    packages = guide.packages_url()  # None on a page without settings: then no exception at all
    bad = []
    for url in guide.requests:
        # data: and blob: URLs are made in the page itself; nothing leaves the machine.
        if url.startswith(("data:", "blob:")):
            continue
        if urllib.parse.urlsplit(url).hostname == "127.0.0.1" and url.startswith(guide.base_url + "/"):
            continue
        if packages and url.startswith(packages):  # the one outside URL allowed: numpy's wheel
            continue
        bad.append(url)
    return bad


def test_requests_stay_on_site_on_load(guide, site_page):
    guide.open(site_page)
    assert guide.requests, "no request recorded"
    assert not off_site(guide)


def test_requests_stay_on_site_when_running(guide):
    guide.open(LAYER)
    guide.open_editor(guide.cell(0))  # editor modules
    guide.run(guide.cell(1))  # Pyodide, cell 0, then numpy's wheel (unreachable)
    guide.wait_notice(guide.cell(1))
    assert [u for u in guide.requests if "pyodide.asm" in u], "Pyodide was not loaded at all?"
    assert not off_site(guide)


# 6 -------------------------------------------------------------------------------------
def test_every_page_runs_like_the_build_without_console_errors(guide, site_page):
    """Load the page (no console errors), then Run its last cell, which runs every
    earlier cell first: each cell's browser output must equal its build output
    (Pyodide vs the build's CPython), or, where numpy is needed, the last cell
    shows the offline notice and every cell keeps its build output. Still no
    console errors after all that."""
    page = guide.open(site_page)
    assert not guide.unexpected_console_errors()
    assert not guide.page_errors
    n = page.locator(".pycell").count()
    if n:
        # A cell may sit in a collapsed note ("Behind the scenes"): open them, as a reader would to run it.
        page.evaluate("() => document.querySelectorAll('article details:not([open])').forEach(d => { d.open = true; })")
        built = [guide.output_items(guide.cell(i)) for i in range(n)]
        needs_numpy = any("numpy" in (guide.cell(i).get_attribute("data-needs") or "") for i in range(n))
        last = guide.cell(n - 1)
        guide.run(last)
        if needs_numpy:
            guide.wait_notice(last)
            assert [guide.output_items(guide.cell(i)) for i in range(n)] == built
        else:
            guide.wait_ran(last)
            for i in range(n):
                assert guide.origin(guide.cell(i)) == "browser", f"cell {i} did not run first: {guide.state(guide.cell(i))}"
            diffs = []
            for i in range(n):
                now = guide.output_items(guide.cell(i))
                if now != built[i]:
                    lines = difflib.unified_diff(
                        items_text(built[i]), items_text(now), "build (CPython)", "browser (Pyodide)", lineterm=""
                    )
                    diffs.append(f"cell {i} ({guide.cell(i).get_attribute('data-snippet')}):\n" + "\n".join(lines))
            assert not diffs, "Run output differs from the build output:\n" + "\n".join(diffs)
        page.wait_for_load_state("networkidle")
    assert not guide.unexpected_console_errors()
    assert not guide.page_errors


# 7 -------------------------------------------------------------------------------------
def test_opening_a_page_loads_no_runtime(guide, site_page):
    page = guide.open(site_page)
    page.wait_for_timeout(500)  # anything deferred past network idle
    assert not heavy_requests(guide.requests)
    # Not vacuous: cells.js did run (every cell has its controls).
    assert page.locator(".pycell-run").count() == page.locator(".pycell").count()
    assert any(u.endswith("/javascripts/cells.js") for u in guide.requests)
