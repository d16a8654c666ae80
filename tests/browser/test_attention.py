"""The self-attention page's two widgets, in the built site.

* The live matrix (attention-matrix.js) shows exactly what the page's cells
  compute: scaled weights and outputs as loaded, plain softmax with the
  division switched off, the causal mask's [1, 0] row, and a softmax of
  whatever score the reader types; bad input is flagged and breaks nothing.
* The real model's attention view is on this page too, per layer and head,
  each row of weights summing to 1 with later tokens masked, and its heatmap
  fits the column at phone and desktop width.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from sitebuild import cellrun, cells

pytestmark = pytest.mark.browser

PAGE = "/transformer/self-attention/"
DOC = Path(__file__).resolve().parents[2] / "docs" / "transformer" / "self-attention.md"
MODEL_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def worked():
    """The namespace of the page's cells, run in page order up to the causal mask."""
    names = cells.page_cells(DOC.read_text(encoding="utf-8"))
    ns = cellrun.new_namespace()
    for i, name in enumerate(names):
        items = cellrun.run_cell(cells.snippet_path(name).read_text(), ns, index=i)
        assert not [x for x in items if x["type"] == "error"], items
        if name == "attention/causal_mask.py":
            return ns
    pytest.fail("the page has no attention/causal_mask.py cell")


def open_matrix(guide):
    page = guide.open(PAGE)
    root = page.locator(".attention-matrix")
    page.wait_for_function("r => r.dataset.state", arg=root.element_handle())
    assert root.get_attribute("data-state") == "ready", root.text_content()
    return page, root


def weights(root):
    return np.array(root.locator("tbody tr").evaluate_all(
        "rows => rows.filter(r => r.querySelector('.am-weight'))"
        ".map(r => Array.from(r.querySelectorAll('.am-weight'), c => Number(c.dataset.weight)))"))


def outputs(root):
    return np.array([json.loads(x) for x in root.locator(".am-output").evaluate_all("cs => cs.map(c => c.dataset.output)")])


def test_matrix_shows_what_the_cells_compute(guide, worked):
    page, root = open_matrix(guide)
    np.testing.assert_allclose(weights(root), worked["scaled"], rtol=1e-12)
    np.testing.assert_allclose(outputs(root), worked["out"], rtol=1e-12)
    assert root.locator(".am-score").evaluate_all("xs => xs.map(x => Number(x.value))") == worked["scores"].ravel().tolist()

    root.locator(".am-scale").uncheck()
    np.testing.assert_allclose(weights(root), worked["plain"], rtol=1e-12)

    root.locator(".am-scale").check()
    root.locator(".am-mask").check()
    np.testing.assert_allclose(weights(root), worked["causal"], rtol=1e-12)
    np.testing.assert_allclose(outputs(root), worked["causal_out"], rtol=1e-12)
    assert weights(root)[0].tolist() == [1, 0]  # a GPT's first token sees only itself
    assert root.locator(".am-score").nth(1).is_disabled()  # the masked score cannot be edited
    # It is pure JavaScript: nothing heavy is fetched for it.
    assert not [u for u in guide.requests if ".onnx" in u or "pyodide" in u]
    guide.assert_no_errors()


def test_matrix_edits_and_bad_input(guide, worked):
    page, root = open_matrix(guide)
    d_k = worked["d_k"]
    score = root.locator(".am-score").nth(1)  # the first token's score for the second
    score.fill("7")
    row = np.array([worked["scores"][0, 0], 7.0]) / np.sqrt(d_k)
    expected = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
    np.testing.assert_allclose(weights(root)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(weights(root)[1], worked["scaled"][1], rtol=1e-12)  # the other row is untouched

    status = root.locator(".lab-status")
    for bad in ("abc", "", "1e9", "Infinity"):
        score.fill(bad)
        assert score.get_attribute("aria-invalid") == "true", bad
        assert "Type a number" in status.text_content(), bad
        assert "lab-error" in status.get_attribute("class")
        np.testing.assert_allclose(weights(root)[0], expected, rtol=1e-12)  # keeps the last valid value

    root.locator(".am-reset").click()
    assert score.get_attribute("aria-invalid") is None
    np.testing.assert_allclose(weights(root), worked["scaled"], rtol=1e-12)
    assert "lab-error" not in status.get_attribute("class")
    guide.assert_no_errors()


def test_matrix_is_accessible(guide):
    page, root = open_matrix(guide)
    assert guide.axe_violations(".attention-matrix") == []
    for box in root.locator("input").all():  # every control has a name a screen reader reads out
        assert box.evaluate("x => (x.labels && x.labels.length > 0) || !!x.getAttribute('aria-label')")


def test_matrix_says_so_when_its_numbers_are_missing(guide):
    page = guide.open(PAGE)
    page.wait_for_function("() => document.querySelector('.attention-matrix').dataset.state")
    page.evaluate("""async () => {
        const node = document.createElement('div');
        node.className = 'lab attention-matrix broken';
        node.innerHTML = '<div class="am-data" hidden><span data-name="tokens">a b</span>'
            + '<span data-name="Q">[[1, 2]]</span></div>';
        document.querySelector('.attention-matrix').after(node);
        const mod = await import(new URL('javascripts/attention-matrix.js', location.origin + '/').href);
        mod.mountAttentionMatrix(node);
    }""")
    broken = page.locator(".attention-matrix.broken")
    assert broken.get_attribute("data-state") == "error"
    assert "could not start" in broken.text_content()
    guide.assert_no_errors()


@pytest.mark.parametrize("width", [390, 1280])
def test_attention_view_per_layer_and_head_fits(guide, site_dir, width):
    cfg = json.loads((Path(site_dir) / "assets" / "model" / "report.json").read_text())["model"]
    page = guide.page
    page.set_viewport_size({"width": width, "height": 900})
    guide.open(PAGE)
    view = page.locator(".attention-view")
    view.locator(".att-pronoun").click()
    page.wait_for_function("v => ['done', 'error'].includes(v.dataset.state)",
                           arg=view.element_handle(), timeout=MODEL_TIMEOUT_MS)
    assert view.get_attribute("data-state") == "done", view.locator(".lab-status").text_content()
    assert view.locator(".att-layer option").count() == cfg["n_layer"]
    assert view.locator(".att-head option").count() == cfg["n_head"] + 1  # each head, and their average

    n = view.locator(".att-token").count()
    q = n // 2
    for layer in range(cfg["n_layer"]):
        view.locator(".att-layer").select_option(str(layer))
        for head in [-1, *range(cfg["n_head"])]:
            view.locator(".att-head").select_option(str(head))
            view.locator(".att-token").nth(q).click()
            w = view.locator(".att-token").evaluate_all("cs => cs.map(c => Number(c.dataset.weight))")
            assert abs(sum(w[: q + 1]) - 1) < 1e-4, (layer, head, w)
            assert all(x == 0 for x in w[q + 1:]), (layer, head, w)

    fit = view.evaluate("""v => {
        const wrap = v.querySelector('.att-heat-wrap'), table = v.querySelector('.att-heat');
        return {wrap: wrap.getBoundingClientRect().right, table: table.getBoundingClientRect().right,
                scroll: wrap.scrollWidth, client: wrap.clientWidth, view: v.getBoundingClientRect().right,
                page: document.documentElement.clientWidth, rows: table.tBodies[0].rows.length}
    }""")
    assert fit["rows"] == n
    assert fit["table"] <= fit["wrap"] + 1 and fit["scroll"] <= fit["client"] + 1, fit
    assert fit["view"] <= fit["page"], fit
    assert guide.axe_violations(".attention-view") == []
    guide.assert_no_errors()
