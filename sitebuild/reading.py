"""Reading time per part of the guide, computed from the pages themselves.

The home page's map writes ``{{reading: Neural networks}}`` (a top-level title of
the nav in mkdocs.yml: a section, or a page on its own) or ``{{reading: the
whole guide}}``; the build replaces it with the minutes it takes to read that
part's prose at WORDS_PER_MINUTE (``{{reading: words per minute}}``: that speed). Only prose counts: code blocks, HTML tags,
inline SVG diagrams and math are left out, since a reader's time on code
depends on whether they run and change it.
"""

import html
import json
import math
import re
from pathlib import Path

WORDS_PER_MINUTE = 200  # a common figure for reading explanatory text
WHOLE = "the whole guide"
SPEED = "words per minute"  # the page states the speed it assumes

MARKER_RE = re.compile(r"\{\{reading:\s*(.+?)\s*\}\}")
FENCE_RE = re.compile(r"^([ \t]*)(```|~~~).*?^\1\2[ \t]*$", re.M | re.S)
SVG_RE = re.compile(r"<svg\b.*?</svg>", re.S | re.I)
TAG_RE = re.compile(r"<[^>]+>")
MATH_RE = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url): the text is read, the url is not
WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.,-]*")


def prose_words(markdown):
    """Words a reader reads in a Markdown page (code, tags, diagrams and math left out)."""
    text = FENCE_RE.sub(" ", markdown)
    text = SVG_RE.sub(" ", text)
    text = TAG_RE.sub(" ", text)
    text = MATH_RE.sub(" formula ", text)  # counted as one word: too little, but not a guess
    text = LINK_RE.sub(r"\1", text)
    return len(WORD_RE.findall(html.unescape(text)))


def page_words(path):
    """Prose words of a docs page: Markdown, or a notebook's Markdown cells."""
    path = Path(path)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return sum(prose_words("".join(c["source"])) for c in cells if c["cell_type"] == "markdown")
    return prose_words(path.read_text(encoding="utf-8"))


def nav_files(item):
    """Every page file under one nav entry, in order."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, list):
        return [f for sub in item for f in nav_files(sub)]
    if isinstance(item, dict):
        return [f for sub in item.values() for f in nav_files(sub)]
    return []


def minutes(words):
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def part_minutes(nav, docs_dir):
    """{top-level nav title: minutes to read it}, plus WHOLE for everything but the home page."""
    out, total = {}, 0
    for entry in nav:
        if not isinstance(entry, dict):  # an untitled page: nothing the map can name
            continue
        for title, value in entry.items():
            words = sum(page_words(Path(docs_dir) / f) for f in nav_files(value) if f != "index.md")
            out[title] = minutes(words)
            total += words
    out[WHOLE] = minutes(total)
    out[SPEED] = WORDS_PER_MINUTE
    return out


def fill(markdown, nav, docs_dir):
    """Replace the page's reading-time markers with minutes; an unknown part name stops the build."""
    if not MARKER_RE.search(markdown):
        return markdown
    table = part_minutes(nav, docs_dir)

    def substitute(match):
        name = match.group(1)
        if name not in table:
            raise ValueError(f"{{{{reading: {name}}}}} names no top-level part of the nav; known: {sorted(table)}")
        note = f"{WORDS_PER_MINUTE} words a minute, prose only"
        return f'<span class="reading-time" data-part="{html.escape(name)}" title="{note}">{table[name]}</span>'

    return MARKER_RE.sub(substitute, markdown)
