"""Every cell on every page: runs under CPython, and the page shows that output.

One test per snippet, so a failure names the cell. The page's cells are run in
a fresh interpreter, in page order (they share a namespace like a notebook),
and compared item by item with the output the build embedded in the HTML.
"""

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from model_export import build as model_build
from sitebuild import cells, embedding_map

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def pages_with_cells():
    for md in sorted(DOCS.rglob("*.md")):
        names = cells.page_cells(md.read_text())
        if names:
            yield md.relative_to(DOCS).as_posix(), names


CASES = [(page, i, name) for page, names in pages_with_cells() for i, name in enumerate(names)]


def html_path(site, page):
    stem = page[: -len(".md")]
    return site / ("index.html" if stem == "index" else (stem.removesuffix("/index") + "/index.html"))


@lru_cache(maxsize=None)
def run_page_fresh(page):
    """All of a page's cells and prose values, run by a fresh CPython process."""
    markdown = (DOCS / page).read_text()
    request = {
        "sources": [cells.snippet_path(n).read_text() for n in cells.page_cells(markdown)],
        "expressions": cells.EXPRESSION_RE.findall(markdown),
    }
    # The same model artifacts the build used (same profile: cached, no retraining).
    artifacts = model_build.ensure_artifacts()
    folders = (artifacts, embedding_map.ensure(artifacts))  # as sitebuild/hooks.py passes them to the build
    env = {**os.environ, cells.ARTIFACTS_ENV: os.pathsep.join(map(str, folders))}
    proc = subprocess.run(
        [sys.executable, "-P", str(cells.RUNNER)], input=json.dumps(request),
        capture_output=True, text=True, cwd=ROOT, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def embedded_items(output_div):
    items = []
    for el in output_div.find_all(recursive=False):
        kind = el["class"][0].removeprefix("pycell-")
        if kind == "html":
            items.append({"type": "html", "html": el.decode_contents()})
        else:
            items.append({"type": kind, "text": el.get_text()})
    return items


@pytest.mark.parametrize("page,index,snippet", CASES, ids=[f"{p}:{n}" for p, _, n in CASES])
def test_snippet_output_is_embedded_in_page(built_site, page, index, snippet):
    expected = run_page_fresh(page)["outputs"][index]
    assert not any(i["type"] == "error" for i in expected), expected
    soup = BeautifulSoup(html_path(built_site, page).read_text(), "html.parser")
    cell = soup.select(".pycell")[index]
    assert cell["data-snippet"] == snippet
    assert json.loads(cell.select_one(".pycell-src").string) == cells.snippet_path(snippet).read_text()
    assert embedded_items(cell.select_one(".pycell-output")) == [
        {**i, "html": BeautifulSoup(i["html"], "html.parser").decode_contents()} if i["type"] == "html" else i
        for i in expected
    ]


@pytest.mark.parametrize("page", sorted({p for p, _, _ in CASES}))
def test_prose_values_come_from_the_cells(built_site, page):
    """Each {{py: expr}} in the prose shows exactly what the expression evaluates to."""
    values = run_page_fresh(page)["values"]
    soup = BeautifulSoup(html_path(built_site, page).read_text(), "html.parser")
    shown = [span.get_text() for span in soup.select("span.pyvalue")]
    assert shown == [v["text"] for v in values]
    assert all(v["ok"] for v in values)


def test_every_snippet_is_on_a_page():
    used = {name for _, _, name in CASES}
    files = {p.relative_to(cells.SNIPPETS).as_posix() for p in cells.SNIPPETS.rglob("*.py")}
    assert files - used == set(), "snippets that no page includes"


def test_no_page_leaves_a_prose_expression_unrendered(built_site):
    for html_file in built_site.rglob("*.html"):
        assert "{{py:" not in html_file.read_text(), html_file
