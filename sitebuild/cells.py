"""Runnable cells: from a ```pycell fence in Markdown to a cell with its output.

A page writes

    ```pycell
    nn_layer.py
    ```

and the build turns it into an editable cell (source from ``snippets/nn_layer.py``)
with that cell's true CPython output underneath. Prose can quote a value
computed by the page's cells with ``{{py: expression}}``; the build replaces it
with the value, so numbers in the text never drift from the code.

The work is split between three MkDocs moments (see hooks.py):

1. ``prepare_page`` (markdown): find the page's cells and prose expressions,
   run them all in one fresh CPython process (cached by content hash), and
   substitute the expressions' values into the Markdown.
2. ``fence_format`` (while Markdown becomes HTML): emit the cell's shell with
   highlighted source and an output placeholder.
3. ``fill_outputs`` (HTML): put each cell's recorded output in its placeholder.
"""

import ast
import hashlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "snippets"
CACHE = ROOT / ".cache" / "cells"
RUNNER = Path(__file__).with_name("cellrun.py")
# Where the runner finds the model build's artifacts (see cellrun.artifact).
ARTIFACTS_ENV = "GUIDE_ARTIFACTS"

# Packages a cell may import that Pyodide must fetch separately (not stdlib).
PYODIDE_PACKAGES = {"numpy"}

FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)```pycell[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
EXPRESSION_RE = re.compile(r"\{\{py:\s*(.+?)\s*\}\}(?!\})")
PLACEHOLDER = '<div class="pycell-output" data-origin="build" aria-live="polite">{}</div>'
PLACEHOLDER_RE = re.compile(
    r'<div class="pycell-output" data-origin="build" aria-live="polite">\x02CELL(\d+)\x03</div>'
)


class CellError(Exception):
    """A cell or prose expression failed at build time: the build must stop."""


def snippet_path(name):
    path = (SNIPPETS / name.strip()).resolve()
    if SNIPPETS.resolve() not in path.parents or not path.is_file():
        raise CellError(f"pycell names a missing snippet: {name.strip()!r} (looked for {path})")
    return path


def page_cells(markdown):
    """Snippet names of a page's cells, in order."""
    return [m.group("body").strip() for m in FENCE_RE.finditer(markdown)]


def needed_packages(source):
    """Non-stdlib packages a cell imports (so the page can fetch them first)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return sorted(names & PYODIDE_PACKAGES)


def run_page(sources, expressions, extra_key=""):
    """Run a page's cells (and prose expressions) in a fresh CPython; cached."""
    request = {"sources": sources, "expressions": expressions}
    key = hashlib.sha256(
        (RUNNER.read_text() + json.dumps(request) + extra_key).encode()
    ).hexdigest()[:24]
    cached = CACHE / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    proc = subprocess.run(
        [sys.executable, "-P", str(RUNNER)],  # -P: the runner's folder must not shadow stdlib modules
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise CellError(f"cell runner crashed:\n{proc.stderr}")
    result = json.loads(proc.stdout)
    failed = any(i["type"] == "error" for items in result["outputs"] for i in items)
    if not failed:  # a failure must be seen again on the next build, not cached
        CACHE.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(result))
    return result


def render_items(items):
    """Output items as HTML: the same markup the browser's cells.js produces."""
    parts = []
    for item in items:
        if item["type"] == "html":
            parts.append(f'<div class="pycell-html">{item["html"]}</div>')
        else:
            parts.append(f'<pre class="pycell-{item["type"]}">{html.escape(item["text"])}</pre>')
    return "".join(parts)


class PageCells:
    """What the build learned about the current page's cells."""

    def __init__(self):
        self.names, self.outputs, self.seen = [], [], 0
        self.packages = set()  # packages imported by the cells rendered so far


current = PageCells()


def prepare_page(markdown, page_name, extra_key=""):
    """Run the page's cells; return Markdown with prose expressions filled in."""
    global current
    current = PageCells()
    current.names = page_cells(markdown)
    expressions = EXPRESSION_RE.findall(markdown)
    if not current.names and not expressions:
        return markdown
    sources = [snippet_path(name).read_text() for name in current.names]
    result = run_page(sources, expressions, extra_key)
    for name, items in zip(current.names, result["outputs"]):
        errors = [i["text"] for i in items if i["type"] == "error"]
        if errors:
            raise CellError(f"{page_name}: cell snippets/{name} raised an error:\n{errors[0]}")
    current.outputs = result["outputs"]
    values = iter(result["values"])

    def substitute(match):
        value = next(values)
        if not value["ok"]:
            raise CellError(f"{page_name}: {{{{py: {match.group(1)}}}}} failed: {value['text']}")
        expr = html.escape(match.group(1), quote=True)
        return (
            f'<span class="pyvalue" data-expr="{expr}" title="computed by: {expr}">'
            f'{html.escape(value["text"])}</span>'
        )

    return EXPRESSION_RE.sub(substitute, markdown)


def fence_format(source, language, class_name, options, md, **kwargs):
    """superfences formatter for ```pycell: the cell's HTML shell."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    name = source.strip()
    code = snippet_path(name).read_text()
    index = current.seen
    current.seen += 1
    highlighted = highlight(code, PythonLexer(), HtmlFormatter(nowrap=True))
    # JSON with "<" escaped cannot close the <script> early, and keeps the
    # source byte-exact for the editor (highlighted text may lose a newline).
    raw = json.dumps(code).replace("<", "\\u003c")
    # A cell needs what earlier cells imported too: they run first in the browser.
    current.packages.update(needed_packages(code))
    needs = " ".join(sorted(current.packages))
    # data-search-exclude: the site search indexes the prose, not code and its
    # output (which made up much of an index every page downloads). A <section>,
    # because Material's indexer stops excluding at the first closing tag of the
    # same name as the excluded element, and a cell holds several </div>.
    return (
        f'<section class="pycell" data-cell="{index}" data-snippet="{html.escape(name)}" data-needs="{needs}" '
        'data-search-exclude>'
        f'<div class="pycell-bar"><span class="pycell-label">snippets/{html.escape(name)}</span></div>'
        f'<div class="language-python highlight pycell-code"><pre><span></span><code>{highlighted}</code></pre></div>'
        f'<script type="application/json" class="pycell-src">{raw}</script>'
        + PLACEHOLDER.format(f"\x02CELL{index}\x03")
        + "</section>"
    )


def fill_outputs(page_html, page_name):
    """Replace each cell's placeholder with its recorded build output."""
    found = [int(i) for i in PLACEHOLDER_RE.findall(page_html)]
    if found != list(range(len(current.names))):
        raise CellError(
            f"{page_name}: found {len(found)} rendered cells but {len(current.names)} "
            "```pycell fences (a fence the build could not see?)"
        )
    return PLACEHOLDER_RE.sub(
        lambda m: PLACEHOLDER.format(render_items(current.outputs[int(m.group(1))])), page_html
    )
