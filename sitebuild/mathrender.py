"""Math rendered at build time with KaTeX (from npm), so pages carry no math JS.

pymdownx.arithmatex (generic mode) leaves ``\\(...\\)`` and ``\\[...\\]`` in
spans and divs of class ``arithmatex``; we send every formula of a page to one
Node process running KaTeX and put its HTML (with MathML for screen readers)
in their place. Only KaTeX's stylesheet and fonts reach the reader.
"""

import html
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RENDERER = Path(__file__).with_name("katex_render.mjs")
MATH_RE = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<display>.*?)\\\])</(?P=tag)>',
    re.S,
)


class MathError(Exception):
    pass


def render_math(page_html):
    matches = list(MATH_RE.finditer(page_html))
    if not matches:
        return page_html
    formulas = [
        {"tex": html.unescape(m.group("inline") if m.group("display") is None else m.group("display")),
         "display": m.group("display") is not None}
        for m in matches
    ]
    proc = subprocess.run(
        ["node", str(RENDERER)], input=json.dumps(formulas), capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        raise MathError(proc.stderr.strip())
    rendered = iter(json.loads(proc.stdout))
    return MATH_RE.sub(lambda m: f'<{m.group("tag")} class="math">{next(rendered)}</{m.group("tag")}>', page_html)
