"""Every lab fits the screen, at phone width (390 px) and on a desktop (1280 px).

A lab is any element with the ``lab`` class or matching a selector in
docs/javascripts/widgets.js's WIDGETS list (read from the file, so a new widget
is checked without editing this test). Each page is opened at both widths, its
demos are opened as tests/browser/test_quality.py opens them (so the rendered
results exist: tables, heatmaps, charts), and then, for every outermost lab:

* its box lies inside the viewport and nothing in it sticks out past its right
  edge (scrollWidth <= clientWidth);
* no box inside it needs sideways scrolling to be read (an ``overflow-x: auto``
  box whose content is wider than the box hides part of it with nothing telling
  the reader to scroll). Form fields are exempt: a long line in a text box
  scrolls inside it by nature.
"""

import re
from pathlib import Path

import pytest
from test_quality import DEMOS, open_page, page_url

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (390, 1280)


def lab_selectors():
    source = (ROOT / "docs" / "javascripts" / "widgets.js").read_text(encoding="utf-8")
    return [".lab", *re.findall(r'selector:\s*"([^"]+)"', source)]


def pages_with_labs():
    """URL paths of the pages whose Markdown places a lab (known before the build)."""
    classes = [s.lstrip(".") for s in lab_selectors()]
    found = re.compile(r'class="[^"]*\b(' + "|".join(map(re.escape, classes)) + r')\b')
    return [page_url(md) for md in sorted((ROOT / "docs").rglob("*.md")) if found.search(md.read_text(encoding="utf-8"))]


FIT_PROBE = """(selectors) => {
    const page = document.documentElement.clientWidth;
    const all = document.querySelectorAll(selectors);
    const outer = Array.from(all).filter(el => !(el.parentElement && el.parentElement.closest(selectors)));
    const visible = el => el.getClientRects().length > 0 && el.checkVisibility({checkVisibilityCSS: true});
    const name = el => {
        let s = el.tagName.toLowerCase();
        if (el.classList.length) s += '.' + Array.from(el.classList).join('.');
        return s;
    };
    const problems = [];
    outer.filter(visible).forEach((lab, i) => {
        const where = `${name(lab)} #${i}`;
        const r = lab.getBoundingClientRect();
        if (r.left < -1 || r.right > page + 1)
            problems.push(`${where} spans x ${Math.round(r.left)}..${Math.round(r.right)} in a ${page} px viewport`);
        if (lab.scrollWidth > lab.clientWidth + 1)
            problems.push(`${where}: content ${lab.scrollWidth} px wide in a ${lab.clientWidth} px box`);
        for (const el of lab.querySelectorAll('*')) {
            if (!visible(el) || el.matches('input, textarea, select')) continue;
            const ox = getComputedStyle(el).overflowX;
            if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + 1)
                problems.push(`${where}: ${name(el)} scrolls sideways (content ${el.scrollWidth} px in ${el.clientWidth} px)`);
        }
    });
    return {count: outer.length, problems};
}"""


# Overflows known and left to their widget's owner: (page, width) -> what and where.
KNOWN = {}


def cases():
    for path in pages_with_labs():
        for width in WIDTHS:
            known = KNOWN.get((path, width))
            marks = [pytest.mark.xfail(reason=known, strict=False)] if known else []
            yield pytest.param(path, width, marks=marks, id=f"{path}-{width}px")


@pytest.mark.parametrize("site_path, width", list(cases()))
def test_every_lab_fits(guide, site_path, width):
    page = guide.page
    page.set_viewport_size({"width": width, "height": 900})
    open_page(guide, site_path)
    selectors = ", ".join(lab_selectors())
    for selector, action in DEMOS.items():
        if selector != ".pycell" and page.locator(selector).count():  # cells are not labs
            action(page)
    page.wait_for_timeout(200)  # let results settle into their layout
    found = page.evaluate(FIT_PROBE, selectors)
    assert found["count"] > 0
    assert not found["problems"], f"{site_path} at {width} px:\n" + "\n".join(found["problems"])
    guide.assert_no_errors()
