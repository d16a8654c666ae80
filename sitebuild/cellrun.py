"""Run notebook-style code cells and record what they show.

This one file is executed in two places:

* at build time, by CPython (``python -m sitebuild.cellrun``), to put each
  cell's true output under it in the page before any runtime loads;
* in the reader's browser, by Pyodide in a Web Worker, when they press Run.

Because both sides use the same code, the output a reader gets from Run has the
same shape as the output the build embedded, and the tests can compare them.

A cell's output is a list of *items*, in the order they happened:

    {"type": "stdout", "text": ...}   printed text
    {"type": "stderr", "text": ...}   text written to sys.stderr (warnings too)
    {"type": "result", "text": ...}   repr() of the cell's last expression
    {"type": "html",   "html": ...}   the last expression's _repr_html_/_repr_svg_
    {"type": "error",  "text": ...}   a traceback, trimmed to the cell's own frames

Like a notebook, cells on one page share one namespace and run in order, and a
cell whose last statement is an expression shows that expression's value.

Cells reach the model build's outputs (report.json, tokenizer.json, ...) with
``from guide import artifact``: at build time ``artifact(name)`` reads the text
from the folder in $GUIDE_ARTIFACTS; in the browser it downloads
``assets/model/<name>`` from the site. Same call, same bytes.
"""

import ast
import io
import json
import os
import sys
import traceback
import types
import warnings

CELL_FILENAME = "<cell {}>"


class _Recorder(io.TextIOBase):
    """A text stream that appends to the cell's item list as it is written.

    Consecutive writes to the same stream merge into one item, so a loop of
    print() calls becomes one block of text. ``on_write`` lets the browser
    stream text to the page while a long cell is still running.
    """

    def __init__(self, items, kind, on_write=None):
        self.items, self.kind, self.on_write = items, kind, on_write

    def writable(self):
        return True

    def write(self, text):
        if not text:
            return 0
        if self.items and self.items[-1]["type"] == self.kind:
            self.items[-1]["text"] += text
        else:
            self.items.append({"type": self.kind, "text": text})
        if self.on_write is not None:
            self.on_write(self.kind, text)
        return len(text)


ARTIFACTS_URL = None  # set by the browser worker: the site's assets/model/ URL


def artifact(name):
    """Text of one of the model build's files (JSON, Python), wherever this runs."""
    if ARTIFACTS_URL is not None:
        from pyodide.http import open_url  # Pyodide only: a synchronous fetch, fine in a worker

        return open_url(ARTIFACTS_URL + name).read()
    folder = os.environ.get("GUIDE_ARTIFACTS")
    if not folder:
        raise FileNotFoundError(f"{name}: no model artifacts here (GUIDE_ARTIFACTS is not set)")
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return f.read()


class LineChart:
    """A small SVG line chart: ``LineChart({"train": (xs, ys), ...}, title=...)``.

    A cell whose last line is a LineChart shows the picture (``_repr_svg_``),
    in the build's output and in the browser alike. The title doubles as the
    chart's text alternative for screen readers.
    """

    COLOURS = ["#3f51b5", "#ff6e40", "#2e7d32", "#8e24aa"]

    def __init__(self, series, title, x_label="", y_label="", width=560, height=260):
        self.series, self.title = series, title
        self.x_label, self.y_label, self.width, self.height = x_label, y_label, width, height

    def _repr_svg_(self):
        from html import escape

        left, right, top, bottom = 48, 12, 28, 36
        xs = [x for xs, _ in self.series.values() for x in xs]
        ys = [y for _, ys in self.series.values() for y in ys]
        x0, x1, y0, y1 = min(xs), max(xs), min(0.0, min(ys)), max(ys)
        x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
        w, h = self.width - left - right, self.height - top - bottom

        def px(x, y):
            return left + (x - x0) / (x1 - x0) * w, top + (1 - (y - y0) / (y1 - y0)) * h

        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'role="img" aria-label="{escape(self.title)}" style="max-width:100%;height:auto;font:11px sans-serif">',
            f"<title>{escape(self.title)}</title>",
            f'<text x="{left}" y="16" fill="currentColor">{escape(self.title)}</text>',
            f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="currentColor" stroke-opacity=".4"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="currentColor" stroke-opacity=".4"/>',
        ]
        for frac in (0, 0.5, 1):  # three y ticks and three x ticks are enough to read the shape
            y = y0 + frac * (y1 - y0)
            _, ty = px(x0, y)
            parts.append(f'<text x="{left - 4}" y="{ty + 4:.1f}" text-anchor="end" fill="currentColor">{y:.3g}</text>')
            x = x0 + frac * (x1 - x0)
            tx, _ = px(x, y0)
            parts.append(f'<text x="{tx:.1f}" y="{top + h + 14}" text-anchor="middle" fill="currentColor">{x:.4g}</text>')
        parts.append(f'<text x="{left + w / 2}" y="{self.height - 4}" text-anchor="middle" fill="currentColor">{escape(self.x_label)}</text>')
        parts.append(f'<text x="12" y="{top + h / 2}" transform="rotate(-90 12 {top + h / 2})" text-anchor="middle" fill="currentColor">{escape(self.y_label)}</text>')
        for i, (name, (sx, sy)) in enumerate(self.series.items()):
            colour = self.COLOURS[i % len(self.COLOURS)]
            points = " ".join("{:.1f},{:.1f}".format(*px(x, y)) for x, y in zip(sx, sy))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts.append(f'<text x="{left + w - 4}" y="{top + 14 * (i + 1)}" text-anchor="end" fill="{colour}">{escape(name)}</text>')
        parts.append("</svg>")
        return "".join(parts)


# Cells write `from guide import artifact, LineChart`: a module made here so it
# exists both in the build's CPython and in Pyodide without another file to ship.
guide = types.ModuleType("guide", "Helpers for the guide's cells.")
guide.artifact = artifact
guide.LineChart = LineChart
sys.modules["guide"] = guide


def _rich_display(value):
    """HTML or SVG markup for a value that offers it (the Jupyter convention)."""
    for method in ("_repr_html_", "_repr_svg_"):
        render = getattr(value, method, None)
        if callable(render):
            markup = render()
            if markup is not None:
                return markup
    return None


def _format_error(exc, filename):
    """The traceback without the runner's own frames: the reader's code only."""
    frames = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in frames if f.filename.startswith("<cell")]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def run_cell(source, namespace, index=0, on_write=None):
    """Execute one cell's source in ``namespace``; return its output items."""
    items = []
    filename = CELL_FILENAME.format(index)
    stdout = _Recorder(items, "stdout", on_write)
    stderr = _Recorder(items, "stderr", on_write)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = stdout, stderr
    try:
        with warnings.catch_warnings():
            # Show every warning each time, as a fresh notebook would.
            warnings.simplefilter("default")
            tree = ast.parse(source, filename=filename)
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, filename, "exec"), namespace)
            if last is not None:
                value = eval(compile(last, filename, "eval"), namespace)
                if value is not None:
                    markup = _rich_display(value)
                    if markup is not None:
                        items.append({"type": "html", "html": markup})
                    else:
                        items.append({"type": "result", "text": repr(value)})
    except KeyboardInterrupt:
        items.append({"type": "error", "text": "KeyboardInterrupt: the cell was stopped\n"})
    except BaseException as exc:  # SystemExit too: a cell must not end the runner
        items.append({"type": "error", "text": _format_error(exc, filename)})
    finally:
        sys.stdout, sys.stderr = saved
    return items


def new_namespace():
    """A fresh namespace, like the top level of a script."""
    return {"__name__": "__main__", "__builtins__": __builtins__}


def evaluate(expression, namespace):
    """str() of an expression evaluated after the cells: numbers quoted in prose."""
    return str(eval(compile(expression, "<prose>", "eval"), namespace))


def run_page(sources, expressions=()):
    """Run a page's cells in order in one namespace, then its prose expressions."""
    namespace = new_namespace()
    outputs = [run_cell(src, namespace, index=i) for i, src in enumerate(sources)]
    values = []
    for expression in expressions:
        try:
            values.append({"ok": True, "text": evaluate(expression, namespace)})
        except Exception as exc:  # reported by the build as a hard error
            values.append({"ok": False, "text": f"{type(exc).__name__}: {exc}"})
    return {"outputs": outputs, "values": values}


def main():
    """Build-time entry: JSON {"sources": [...], "expressions": [...]} on stdin."""
    request = json.load(sys.stdin)
    result = run_page(request["sources"], request.get("expressions", ()))
    # Write to the real stdout: cells' prints were captured, not printed.
    sys.__stdout__.write(json.dumps(result))


if __name__ == "__main__":
    main()
