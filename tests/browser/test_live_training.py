"""The live-learning demo on the training page, in real Chromium with real Pyodide.

Contract under test (docs/javascripts/live-training.js): the placeholder
``.live-training`` gets Train / Train-many / Reset buttons; each step runs the
page's own Python (``LiveRun.step()``, defined by its cells) in the page's
interpreter and shows the loss, a forward-pass table, a gradients-and-weights
table and one more point on an SVG loss curve. Offline is fine: the demo is
stdlib-only Python. Opening the page loads no runtime; Python starts on the
first press.
"""

import re

import pytest

pytestmark = pytest.mark.browser

TRAINING = "/neural-networks/training/"
HEAVY = ("pyodide.asm", "python_stdlib")


def widget(page):
    return page.locator(".live-training")


def wait_idle(guide, root, timeout=None):
    """Wait until the demo is not running (buttons enabled again)."""
    guide.page.wait_for_function(
        "r => !r.classList.contains('lt-running')",
        arg=root.element_handle(), timeout=timeout or guide.BOOT_TIMEOUT_MS, polling=50,
    )


def points(root):
    return root.locator("svg.lt-curve circle.lt-point").count()


def weights(root):
    """The parameter table's "after" column, as numbers."""
    texts = root.locator(".lt-weights tbody td.lt-after").all_text_contents()
    return [float(t.replace("−", "-")) for t in texts]


def curve_losses(root):
    """The loss the widget reports for the latest step, from its readout."""
    text = root.locator(".lt-readout").text_content()
    m = re.search(r"loss (−?[\d.]+) \(step 1: (−?[\d.]+)\)", text)
    assert m, text
    return float(m.group(2).replace("−", "-")), float(m.group(1).replace("−", "-"))


def test_controls_without_loading_python(guide):
    page = guide.open(TRAINING)
    root = widget(page)
    assert root.locator("button.lt-step").is_visible()
    assert root.locator("button.lt-many").is_visible()
    assert root.locator("button.lt-reset").is_visible()
    assert root.locator(".lt-status").get_attribute("aria-live") == "polite"
    assert not root.locator(".live-training-fallback").count(), "fallback text not replaced"
    page.wait_for_timeout(300)
    assert not [u for u in guide.requests if any(h in u for h in HEAVY)], "Python loaded before any click"
    assert not guide.unexpected_console_errors()
    assert not guide.page_errors


def test_training_lowers_the_loss(guide):
    page = guide.open(TRAINING)
    root = widget(page)
    many = root.locator("button.lt-many")
    batch = int(root.get_attribute("data-steps"))

    # One step: boots Python, runs the page's cells, then LiveRun.step().
    root.locator("button.lt-step").click()
    wait_idle(guide, root)
    assert points(root) == 1, root.locator(".lt-status").text_content()
    before = weights(root)
    assert len(before) == 13
    # The forward pass shows the four XOR examples.
    assert root.locator(".lt-forward tbody tr").count() == 4

    many.click()
    wait_idle(guide, root)
    n = 1 + batch
    assert points(root) == n, root.locator(".lt-status").text_content()
    assert root.locator("svg.lt-curve").get_attribute("data-points") == str(n)

    first, last = curve_losses(root)
    assert last < 0.75 * first, (first, last)
    after = weights(root)
    assert max(abs(a - b) for a, b in zip(after, before)) > 1e-3, "weights table did not change"

    # The curve is described for screen readers, with the real numbers.
    title = root.locator("svg.lt-curve title").text_content()
    assert f"over {n} steps" in title and "fell" in title, title
    assert root.locator("svg.lt-curve").get_attribute("role") == "img"

    # The widget trains the same network as the build-time cell: step 1's loss matches it.
    built = guide.output_items(guide.page.locator('.pycell[data-snippet="neural_networks/training_loop.py"]'))
    assert f"step  1   loss {first:.4f}" in built[0][1], (first, built)

    assert not guide.unexpected_console_errors()
    assert not guide.page_errors


def test_reset_and_keyboard(guide):
    page = guide.open(TRAINING)
    root = widget(page)
    step = root.locator("button.lt-step")
    step.focus()
    page.keyboard.press("Enter")
    wait_idle(guide, root)
    page.keyboard.press("Enter")
    wait_idle(guide, root)
    assert points(root) == 2
    first_run = weights(root)

    root.locator("button.lt-reset").focus()
    page.keyboard.press("Space")
    wait_idle(guide, root)
    assert points(root) == 0
    assert "reset" in root.locator(".lt-status").text_content().lower()

    step.click()
    wait_idle(guide, root)
    assert points(root) == 1
    # Same seed: step 1 after a reset reproduces step 1's weights, not step 2's.
    assert weights(root) != first_run
    assert not guide.unexpected_console_errors()


def test_fits_a_phone_screen(guide, context):
    page = guide.page
    page.set_viewport_size({"width": 360, "height": 740})
    guide.open(TRAINING)
    root = widget(page)
    root.locator("button.lt-many").click()
    wait_idle(guide, root)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
    box = root.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert not guide.unexpected_console_errors()
