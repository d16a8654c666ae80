"""Nothing the network does can freeze or fool the page (docs/javascripts/assets.js).

A test server in front of the built site breaks one asset at a time, in one of
four ways:

* ``truncate``: a well-formed response holding only the first half of the file;
* ``corrupt``: the right length, with bytes flipped at a few places;
* ``stall``: headers and the first bytes, then nothing (until the test ends);
* ``404``: not found.

for each asset kind a reader's click may fetch: the model (model.onnx, through
the generation lab), the build's manifest.json and onnxruntime-web's wasm (the
same lab), the tokenizer (tokenizer.json, the tokenizer playground), the
knowledge base (knowledge.json) and report.json (the agent panel), and
Pyodide's core (pyodide.asm.wasm, a Python cell).
Each case must end within FAULT_WINDOW_S of the click in a message that names
the file, with the page still answering, the widget out of its loading state
and a Retry button (a cell's Run button for Python), which works once the fault is gone.

Every response here is ``Cache-Control: no-store``: a damaged file must never
reach the browser's cache that the other tests share.
"""

import functools
import json
import re
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _browser  # noqa: E402  (bench/_browser.py: the site's server)

sys.path.remove(str(Path(__file__).resolve().parents[2] / "bench"))

pytestmark = pytest.mark.browser

FAULTS = ("truncate", "corrupt", "stall", "404")
FAULT_WINDOW_S = 15
STALL_HOLD_S = 60  # a stalled response is held open this long at most (released at each test's end)
RECOVER_TIMEOUT_MS = 60_000


class FaultHandler(_browser._Handler):
    """The site, with ``faults`` ({file name: mode}) applied to matching paths, whatever their ?v=."""

    faults: dict = {}
    release = threading.Event()
    cache_control = "no-store"

    def do_GET(self):
        name = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
        mode = self.faults.get(name)
        if mode is None:
            return super().do_GET()
        if mode == "404":
            return self.send_error(404, "Not Found (injected)")
        path = self.translate_path(self.path.split("?", 1)[0])
        with open(path, "rb") as f:
            data = f.read()
        if mode == "truncate":
            data = data[: len(data) // 2]
        elif mode == "corrupt":
            damaged = bytearray(data)
            for i in range(1, 9):  # eight bytes spread through the file
                damaged[len(data) * i // 9] ^= 0x5A
            data = bytes(damaged)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "stall":
            self.wfile.write(data[:1024])
            self.wfile.flush()
            self.release.wait(STALL_HOLD_S)
            self.close_connection = True
            return
        self.wfile.write(data)


@pytest.fixture(scope="module")
def fault_server(site_dir):
    handler = type("Handler", (FaultHandler,), {"faults": {}, "release": threading.Event()})
    server = _browser._Server(("127.0.0.1", 0), functools.partial(handler, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, name="guide-faults", daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def faulty(guide_on, fault_server):
    """(set_fault(file, mode), a Guide on the fault server)."""
    handler, url = fault_server
    handler.release.clear()
    g = guide_on(url)

    def set_fault(file, mode):
        handler.faults.clear()
        if mode:
            handler.faults[file] = mode

    yield set_fault, g
    handler.faults.clear()
    handler.release.set()  # let stalled responses end


# Each asset kind: the file, the page, how a reader makes the page fetch it, where the message appears.
def _lab_step(page):
    page.locator(".generation-lab .lab-step").first.click()


def _tokenize(page):
    page.locator(".tokenizer-playground .tp-button").first.click()


def _agent_run(page):
    page.locator(".agent-panel").get_by_role("button", name="Run", exact=True).click()


def _cell_run(page):
    page.locator('.pycell[data-cell="0"] .pycell-run').click()


KINDS = {
    "model": ("model.onnx", "/inference/generation/", _lab_step, ".generation-lab .lab-status"),
    "manifest": ("manifest.json", "/inference/generation/", _lab_step, ".generation-lab .lab-status"),
    "runtime": ("ort-wasm-simd-threaded.wasm", "/inference/generation/", _lab_step, ".generation-lab .lab-status"),
    "tokenizer": ("tokenizer.json", "/tokens/", _tokenize, ".tokenizer-playground .tp-status"),
    "knowledge": ("knowledge.json", "/agents/", _agent_run, ".agent-panel .agent-status"),
    "report": ("report.json", "/agents/", _agent_run, ".agent-panel .agent-status"),
    "pyodide": ("pyodide.asm.wasm", "/tokens/", _cell_run, '.pycell[data-cell="0"] .pycell-notice'),
}
# After Retry with the fault gone: what the widget shows once it has what it needs.
RECOVERED = {
    "model": "/ready/.test(document.querySelector('.generation-lab .lab-status').textContent)",
    "manifest": "/ready/.test(document.querySelector('.generation-lab .lab-status').textContent)",
    "runtime": "/ready/.test(document.querySelector('.generation-lab .lab-status').textContent)",
    "tokenizer": "!document.querySelector('.tokenizer-playground .tp-output').hidden",
    "knowledge": "/ready/.test(document.querySelector('.agent-panel .agent-status').textContent)",
    "report": "/ready/.test(document.querySelector('.agent-panel .agent-status').textContent)",
}

# What the reader should read for each fault (besides the file's name).
EXPECT = {
    "truncate": r"cut short|not valid|not a readable|could not|did not start|failed",
    "corrupt": r"damaged|not valid|could not|did not start|failed",
    "stall": r"stalled|did not start",
    "404": r"404|could not|did not start|failed",
}

RESULTS = []  # (kind, fault, seconds to the message), summarised at the end of the module


def message_of(page, selector):
    return page.locator(selector).first.text_content() or ""


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_fault_gives_a_named_error_quickly(faulty, kind, fault):
    set_fault, guide = faulty
    file, path, act, where = KINDS[kind]
    set_fault(file, fault)
    page = guide.open(path, wait="load")
    t0 = time.monotonic()
    act(page)
    try:
        page.wait_for_function(
            "([sel, file]) => { const n = document.querySelector(sel); return !!n && n.textContent.includes(file)"
            " && !(n.closest('[data-state]')?.dataset.state === 'loading'); }",
            arg=[where, file], timeout=FAULT_WINDOW_S * 1000, polling=100)
    except Exception as exc:
        raise AssertionError(f"{kind}/{fault}: no message naming {file} within {FAULT_WINDOW_S} s; "
                             f"it reads {message_of(page, where)!r}") from exc
    seconds = time.monotonic() - t0
    text = message_of(page, where)
    RESULTS.append((kind, fault, round(seconds, 1), text))
    assert re.search(EXPECT[fault], text, re.I), f"{kind}/{fault}: {text!r}"

    # The page still answers, and the widget is not left loading.
    t1 = time.monotonic()
    assert page.evaluate("() => 1 + 1") == 2
    assert time.monotonic() - t1 < 2
    assert guide.page_errors == []
    if kind == "pyodide":  # Run is the cell's retry: it boots a fresh interpreter
        cell = guide.cell(0)
        assert "running" not in (cell.get_attribute("class") or "")
        assert cell.locator(".pycell-run").is_enabled()
        set_fault(file, None)
        guide.run(cell)
        guide.wait_ran(cell)
        assert guide.page_errors == []
        return
    state_holder = page.locator(where).first.locator("xpath=ancestor-or-self::*[@data-state][1]")
    if state_holder.count():
        assert state_holder.get_attribute("data-state") != "loading"
    retry = page.get_by_role("button", name="Retry")
    assert retry.count() == 1 and retry.is_enabled(), f"{kind}/{fault}: no Retry button"

    # Once the network behaves, Retry recovers without a reload.
    set_fault(file, None)
    retry.click()
    try:
        page.wait_for_function(f"() => {RECOVERED[kind]}", timeout=RECOVER_TIMEOUT_MS, polling=100)
    except Exception as exc:
        raise AssertionError(f"{kind}/{fault}: Retry did not recover; it reads {message_of(page, where)!r}") from exc
    assert guide.page_errors == []


def test_zz_report_fault_timings():
    """Prints what the cases above measured (run with -s to see it)."""
    if RESULTS:
        worst = max(RESULTS, key=lambda r: r[2])
        print(f"\nfault cases: {len(RESULTS)}, slowest: {worst}")
        for kind, fault, seconds, text in RESULTS:
            print(f"  {kind:10s} {fault:9s} {seconds:5.1f} s  {text[:200]}")


def test_tokenizer_that_does_not_match_the_model_is_refused(guide, site_dir):
    """A tokenizer with one merge fewer (as from another build), listed in the manifest:
    the bytes are intact, but the vocabulary disagrees with the model's, so every id
    would mean another token. The lab refuses it, naming the file."""
    tok = json.loads((Path(site_dir) / "assets" / "model" / "tokenizer.json").read_text())
    tok["merges"] = tok["merges"][:-1]
    tok["special_tokens"] = {name: i - 1 for name, i in tok["special_tokens"].items()}
    tok["vocab_size"] -= 1
    guide.replace_model_file("tokenizer.json", json.dumps(tok).encode())
    page = guide.open("/inference/generation/")
    _lab_step(page)
    status = page.locator(".generation-lab .lab-status")
    page.wait_for_function("(n) => n.closest('.generation-lab').dataset.state === 'error'",
                           arg=status.element_handle(), timeout=60_000)
    text = status.text_content()
    assert "tokenizer.json" in text and "does not match model.onnx" in text, text
    assert f"{tok['vocab_size']} tokens" in text, text
    assert guide.page_errors == []
