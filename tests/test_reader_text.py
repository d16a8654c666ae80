"""The text a reader reads names nothing the reader cannot see.

For every page of the built site, the main text is what is left of the article
once the parts that are allowed to talk about the machinery are taken out:

* collapsed notes (``??? note "Behind the scenes"``: ``<details>``),
* code cells with their outputs, and any other ``<pre>`` block,
* the interactive widgets (every selector in docs/javascripts/widgets.js,
  plus the labs' ``.lab`` containers) and figures' SVG drawings.

Inline ``code`` in a sentence stays: the reader reads it. The remaining text
must not mention a test file, the build's report, a build-internal name (a
Python file other than the downloadable run.py, a folder of the build), talk
about "the build" as if the reader had watched it, or refer to documents the
reader never saw ("the source", "as stated", "the stated figure").

Each page is its own test, so ``-k tokens`` checks one page; a failure prints
every offending passage with a little context around it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# What may not appear in the main text, each with the reason a reader would give.
FORBIDDEN = [
    ("a test file", re.compile(r"\btests?/[\w/.-]*|\btest_\w+\.py\b|\btest suite\b", re.I)),
    ("the build's report", re.compile(r"\breport\.json\b", re.I)),
    ("a build-internal name", re.compile(
        r"\bmodel_export[\w/.]*|\bsitebuild[\w/.]*|\.cache\b|\bparams\.npz\b|\bknowledge\.json\b"
        r"|\bGUIDE_ARTIFACTS\b|\bLLM_GUIDE_PROFILE\b"
        # any Python file but the run file the reader downloads
        r"|\b(?!run\.py\b)[\w/]+\.py\b", re.I)),
    ("builder talk ('the build')", re.compile(
        r"\b(?:the|this|its|that|site's) build(?:'s)?\b(?!\s+(?:a|an|the|your|it)\b)", re.I)),
    ("a document the reader never saw", re.compile(
        r"\bthe source\b(?!\s+code)|\bsources?\s+material\b|\bas stated\b|\bthe stated\b(?!\s+facts?\b)"
        r"|\bstated\s+(?:figure|result|value|number|weight|answer|example|output)s?\b"
        r"|\bthe seed (?:text|material|document)s?\b", re.I)),
]

# Containers whose text is not main text (see the module docstring).
NOT_MAIN_TEXT = [
    "details", "pre", "script", "style", "svg", "template", "noscript",
    ".pycell", ".pycell-output", ".lab", ".headerlink",
    ".jp-CodeCell",  # the notebook page: code cells and their outputs
]

# Pages other engineers are rewriting in the reader's edition (issue #12): their
# offenders are expected to go once that work lands. Listed so that a failure
# says whose page it is; they are tested like every other page (no xfail).
OWNED_ELSEWHERE = {
    "index.md", "transformer/self-attention.md", "tokens/embeddings.md",
    "inference/two-files.md", "inference/generation.md", "inference/context-window.md",
}
OWNED_ELSEWHERE_PREFIXES = ("training/", "agents/")


def widget_selectors() -> list[str]:
    """Every widget's CSS selector, read from the widget registry."""
    source = (DOCS / "javascripts" / "widgets.js").read_text(encoding="utf-8")
    return re.findall(r"""selector:\s*["']([^"']+)["']""", source)


def html_path(source: Path) -> Path:
    """Where MkDocs (directory URLs) writes the page built from ``source``."""
    rel = source.relative_to(DOCS).with_suffix("")
    if rel.name == "index":
        return rel.parent / "index.html"
    return rel / "index.html"


def main_text(page_html: str, extra_selectors=()) -> str:
    """The article's text with code, collapsed notes and widgets removed."""
    soup = BeautifulSoup(page_html, "html.parser")
    article = soup.select_one("article") or soup.body or soup
    for selector in [*NOT_MAIN_TEXT, *extra_selectors]:
        for element in article.select(selector):
            element.decompose()
    return re.sub(r"\s+", " ", article.get_text(" ")).strip()


def offenders(text: str, context: int = 70) -> list[str]:
    """Each forbidden mention in ``text``: what it is, and the passage around it."""
    found = []
    for reason, pattern in FORBIDDEN:
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - context), min(len(text), match.end() + context)
            found.append(f"{reason}: {match.group(0)!r} in \"...{text[start:end]}...\"")
    return found


SOURCES = sorted(
    p for p in DOCS.rglob("*") if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts
)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_main_text_names_nothing_unseen(built_site, source):
    page = Path(built_site) / html_path(source)
    assert page.exists(), f"{source.relative_to(DOCS)} was not built to {page}"
    text = main_text(page.read_text(encoding="utf-8"), widget_selectors())
    found = offenders(text)
    if found:
        rel = source.relative_to(DOCS).as_posix()
        owner = (" (a page another engineer is rewriting for the reader's edition)"
                 if rel in OWNED_ELSEWHERE or rel.startswith(OWNED_ELSEWHERE_PREFIXES) else "")
        pytest.fail(f"{rel}{owner}: {len(found)} passage(s) of the main text talk about what the "
                    "reader cannot see (move them into a `??? note \"Behind the scenes\"`):\n  "
                    + "\n  ".join(found), pytrace=False)


def test_the_filter_keeps_prose_and_drops_the_machinery():
    page = """<html><body><article>
      <p>The model reads <code>tokenizer.json</code> and writes <code>run.py</code>.</p>
      <p>See tests/test_model.py, as stated in the source, and report.json.</p>
      <p>The build trains it; this site's build did too. Build a model; the building block.</p>
      <details><summary>Behind the scenes</summary><p>model_export/build.py writes report.json</p></details>
      <div class="pycell"><pre><code>from guide import artifact  # report.json</code></pre></div>
      <div class="pycell-output"><pre>sitebuild</pre></div>
      <div class="tokenizer-playground">params.npz</div>
      <p>The source code is short; open source.</p>
    </article></body></html>"""
    text = main_text(page, [".tokenizer-playground"])
    assert "model_export" not in text and "sitebuild" not in text and "params.npz" not in text
    assert "tokenizer.json" in text  # inline code in a sentence is read, so it is checked
    reasons = [line.split(":")[0] for line in offenders(text)]
    assert reasons.count("a test file") == 1
    assert reasons.count("the build's report") == 1
    assert reasons.count("a build-internal name") == 1  # test_model.py; run.py is the reader's download
    assert reasons.count("builder talk ('the build')") == 2
    assert reasons.count("a document the reader never saw") == 2  # "as stated", "the source," (not "source code")
