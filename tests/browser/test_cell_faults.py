"""Cells under abuse, in real Chromium with real Pyodide.

Contract under test (docs/javascripts/py-worker.js, python-session.js, cells.js,
live-training.js, sitebuild/cellrun.py):

* a flood of prints reaches the page in batches (at most one message per
  ~50 ms, not one per print) and is capped there: the first and last lines
  stay, with "output truncated, N lines hidden" between them;
* a worker that dies while a cell runs is reported as Python stopping
  unexpectedly (not as a failure to start), and the next Run starts afresh;
* a cell's ``artifact()`` download is checked as the demos' are (requested as
  name?v=<hash>, refused when its size or SHA-256 differ from the manifest's);
  one that gets an HTTP error, arrives damaged or stalls names the file and
  says to run the cell again, and running it again retries;
* the live-training demo says when the loss diverged, and what to change.
"""

import re

import pytest

pytestmark = pytest.mark.browser

LAYER = "/neural-networks/layer/"
TRAINING = "/neural-networks/training/"
HEAD_LINES, TAIL_LINES = 200, 300  # cells.js


def boot(guide, cell):
    guide.run(cell)
    guide.wait_ran(cell)


def wait_failed(guide, cell):
    guide.page.wait_for_function(
        "c => !c.classList.contains('running') && c.querySelector('.pycell-status').textContent.startsWith('Failed')",
        arg=cell.element_handle(), timeout=guide.BOOT_TIMEOUT_MS)


def test_a_flood_of_prints_is_batched_and_capped(guide):
    page = guide.open(LAYER)
    cell = guide.cell(0)
    boot(guide, cell)
    n = 100_000
    # Count the stream messages the worker posts for this run.
    page.evaluate("""async () => {
        const { session } = await import(new URL('../../javascripts/cells.js', location.href).href);
        window.__streamMessages = 0;
        session.worker.addEventListener('message', ({ data }) => {
            if (data && data.type === 'stream') window.__streamMessages += 1;
        });
    }""")
    guide.replace_code(cell, f"for i in range({n}): print(i)")
    guide.run(cell)
    guide.wait_ran(cell, timeout=60_000)

    out = cell.locator(".pycell-output pre.pycell-stdout")
    assert out.count() == 1, guide.state(cell)
    marker = out.locator(".pycell-truncated")
    hidden = n - HEAD_LINES - TAIL_LINES
    assert marker.text_content().strip() == f"… output truncated, {hidden} lines hidden …"
    lines = out.text_content().splitlines()
    assert lines[0] == "0" and lines[HEAD_LINES - 1] == str(HEAD_LINES - 1)
    assert lines[-1] == str(n - 1) and lines[-TAIL_LINES] == str(n - TAIL_LINES)
    assert len(lines) == HEAD_LINES + 1 + TAIL_LINES
    messages = page.evaluate("window.__streamMessages")
    print(f"{n} prints reached the page in {messages} stream messages")
    assert messages < n / 100, messages
    guide.assert_no_errors()


def test_a_worker_that_dies_mid_run_is_reported_as_such(guide):
    page = guide.open(LAYER)
    cell = guide.cell(0)
    built = guide.output_items(cell)
    boot(guide, cell)
    guide.replace_code(cell, "import time\nwhile True: time.sleep(0.01)")
    guide.run(cell)
    page.wait_for_function("c => c.classList.contains('running')", arg=cell.element_handle(), timeout=10_000)
    page.wait_for_timeout(300)
    # What the browser does when a worker's code throws outside any handler.
    page.evaluate("""async () => {
        const { session } = await import(new URL('../../javascripts/cells.js', location.href).href);
        session.worker.onerror(new ErrorEvent('error', { message: 'simulated crash', cancelable: true }));
    }""")
    page.wait_for_function("c => !c.classList.contains('running')", arg=cell.element_handle(), timeout=10_000)
    error = cell.locator(".pycell-output pre.pycell-error").last.text_content()
    assert "Python stopped unexpectedly (simulated crash)" in error, guide.state(cell)
    assert "failed to start" not in error
    assert cell.locator(".pycell-status").text_content() == "Python stopped"

    cell.locator(".pycell-reset").click()
    guide.run(cell)
    guide.wait_ran(cell)
    assert guide.output_items(cell) == built
    guide.assert_no_errors()


def read_artifact(guide, cell, name, before=""):
    """Run `artifact(name)` in the cell; return the error it shows, or "" when it printed the length."""
    guide.replace_code(cell, f'{before}from guide import artifact\nprint(len(artifact("{name}")))')
    guide.run(cell)
    guide.page.wait_for_function("c => !c.classList.contains('running')", arg=cell.element_handle(),
                                 timeout=guide.BOOT_TIMEOUT_MS)
    error = cell.locator(".pycell-output pre.pycell-error")
    return error.text_content() if error.count() else ""


def forget_expected_errors(guide, name):
    """The failed downloads are the point of these tests; the browser logs them."""
    guide.console_errors = [e for e in guide.console_errors if name not in e[1] and name not in e[0]
                            and "404" not in e[0]]
    assert not guide.page_errors


def test_an_artifact_that_is_missing_names_the_file_and_status(guide):
    guide.open(LAYER)
    cell = guide.cell(0)
    boot(guide, cell)
    error = read_artifact(guide, cell, "no-such-file.json")
    assert "no-such-file.json: this version of the site has no such model file" in error, error
    guide.route_model_file("report.json", lambda route: route.fulfill(status=404, body="not found"))
    error = read_artifact(guide, cell, "report.json")
    assert "report.json could not be downloaded from the site (HTTP 404); run the cell again" in error, error
    assert "JSONDecodeError" not in error
    forget_expected_errors(guide, "report.json")


def test_a_damaged_or_stale_artifact_is_refused_and_a_rerun_retries(guide):
    """Cells check what they download as the demos do: name?v=<hash>, then size and SHA-256."""
    page = guide.open(LAYER)
    cell = guide.cell(0)
    boot(guide, cell)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/assets/model/report.json" in r.url else None)
    served = {}

    def damaged(route):
        body = route.fetch().body()
        served["bytes"] = len(body)
        last = b" " if body[-1:] != b" " else b"\n"
        route.fulfill(status=200, body=body[:-1] + last, content_type="application/json")  # same size, one byte off

    guide.route_model_file("report.json", damaged)
    error = read_artifact(guide, cell, "report.json")
    assert "report.json arrived damaged or from another version of the site" in error, error
    guide.page.unroute(re.compile(r"/assets/model/report\.json(\?|$)"))
    guide.route_model_file("report.json", lambda route: route.fulfill(status=200, body=b"{}"))
    error = read_artifact(guide, cell, "report.json")
    assert f"report.json arrived damaged (2 bytes instead of {served['bytes']})" in error, error
    guide.page.unroute(re.compile(r"/assets/model/report\.json(\?|$)"))
    assert read_artifact(guide, cell, "report.json") == ""   # Run again: the real file, checked
    assert cell.locator(".pycell-output").text_content().strip() == str(served["bytes"])
    assert asked and all(re.search(r"report\.json\?v=[0-9a-f]{16}$", u) for u in asked), asked
    guide.assert_no_errors()


def test_a_stalled_artifact_ends_with_the_file_named(guide):
    page = guide.open(LAYER)
    cell = guide.cell(0)
    boot(guide, cell)
    held = []
    guide.route_model_file("report.json", lambda route: held.append(route))   # never answered
    error = read_artifact(guide, cell, "report.json", before="import cellrun\ncellrun.DOWNLOAD_SECONDS = 1\n")
    assert "report.json could not be downloaded from the site" in error, error
    assert "run the cell again" in error
    assert held, "the request was not made"
    page.unroute(re.compile(r"/assets/model/report\.json(\?|$)"))
    forget_expected_errors(guide, "report.json")


def test_live_training_says_when_the_loss_diverged(guide):
    page = guide.open(TRAINING)
    root = page.locator(".live-training")
    live_cell = page.locator('.pycell[data-snippet="neural_networks/training_live.py"]')
    boot(guide, live_cell)  # runs the page's earlier cells first, and defines LiveRun
    # One line, typed like a reader would (the editor indents typed blocks itself).
    guide.replace_code(live_cell, 'learning_rate = float("inf")')
    guide.run(live_cell)
    guide.wait_ran(live_cell)
    root.locator("button.lt-many").click()
    page.wait_for_function("r => !r.classList.contains('lt-running') && r.querySelector('.lt-status')"
                           ".textContent.includes('diverged')", arg=root.element_handle(), timeout=60_000)
    status = root.locator(".lt-status").text_content()
    assert "smaller learning rate" in status, status
    assert "could not run" not in status
    guide.assert_no_errors()
