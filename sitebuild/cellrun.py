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
``assets/model/<name>`` from the site and checks it against the build's
manifest. Same call, same bytes.
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
MANIFEST_ID = ""      # ... and the start of the manifest's SHA-256, from the page's settings
DOWNLOAD_SECONDS = 120  # a download that has not finished by then ends with an error naming the file
_manifest = None      # the build's manifest, {file: {"bytes": n, "sha256": hex}}, once downloaded


def artifact(name):
    """Text of one of the model build's files (JSON, Python), wherever this runs."""
    if ARTIFACTS_URL is not None:
        return _download(name).decode("utf-8")
    with open(_local_path(name), encoding="utf-8") as f:
        return f.read()


def artifact_bytes(name):
    """Bytes of one of the model build's files (a .safetensors parameter file), wherever this runs."""
    if ARTIFACTS_URL is not None:
        return _download(name)
    with open(_local_path(name), "rb") as f:
        return f.read()


def _local_path(name):
    """Where a build-time run finds `name`: $GUIDE_ARTIFACTS is one folder, or several joined
    by os.pathsep (the model build's, then files derived from it); the first that has it."""
    folder = os.environ.get("GUIDE_ARTIFACTS")
    if not folder:
        raise FileNotFoundError(f"{name}: no model artifacts here (GUIDE_ARTIFACTS is not set)")
    folders = folder.split(os.pathsep)
    return next((p for p in (os.path.join(f, name) for f in folders) if os.path.isfile(p)), os.path.join(folders[0], name))


AGAIN = "run the cell again, or reload the page if it persists"   # what every download error ends with


def _get(url, name):
    """GET url synchronously (Pyodide, in a worker: cells are synchronous code), with a
    time limit; a failure names the file."""
    from js import XMLHttpRequest  # Pyodide only

    request = XMLHttpRequest.new()
    request.open("GET", url, False)
    request.responseType = "arraybuffer"  # binary: allowed for a synchronous request in a worker
    request.timeout = DOWNLOAD_SECONDS * 1000  # so is a time limit
    try:
        request.send(None)
    except Exception as err:  # a network failure or the time limit: the JS error surfaces as a JsException
        raise OSError(f"{name} could not be downloaded from the site ({err}); {AGAIN}") from None
    if request.status != 200:
        raise FileNotFoundError(f"{name} could not be downloaded from the site (HTTP {request.status}); {AGAIN}")
    return request.response.to_bytes()


def _download(name):
    """One of the site's model files, checked against the build's manifest as the demos
    check theirs (javascripts/assets.js): requested as name?v=<its hash>, so that a
    browser cache never hands out another build's copy, and refused if its size or
    SHA-256 differ."""
    global _manifest
    import hashlib

    if _manifest is None:   # downloaded once; a failure is not kept, so running the cell again retries
        data = _get(f"{ARTIFACTS_URL}manifest.json" + (f"?v={MANIFEST_ID}" if MANIFEST_ID else ""), "manifest.json")
        if MANIFEST_ID and not hashlib.sha256(data).hexdigest().startswith(MANIFEST_ID):
            raise OSError(f"manifest.json belongs to another version of the site than this page; {AGAIN}")
        try:
            _manifest = json.loads(data)
        except ValueError:
            raise OSError(f"manifest.json arrived damaged (it is not valid JSON); {AGAIN}") from None
    entry = _manifest.get(name)
    if entry is None:
        raise FileNotFoundError(f"{name}: this version of the site has no such model file")
    data = _get(f"{ARTIFACTS_URL}{name}?v={entry['sha256'][:16]}", name)
    if len(data) != entry["bytes"]:
        raise OSError(f"{name} arrived damaged ({len(data)} bytes instead of {entry['bytes']}); {AGAIN}")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise OSError(f"{name} arrived damaged or from another version of the site (its SHA-256 differs "
                      f"from the build's); {AGAIN}")
    return data


class LineChart:
    """A small SVG line chart: ``LineChart({"train": (xs, ys), ...}, title=...)``.

    A cell whose last line is a LineChart shows the picture (``_repr_svg_``),
    in the build's output and in the browser alike. The title doubles as the
    chart's text alternative for screen readers.
    """

    COLOURS = ["#3f51b5", "#ff6e40", "#2e7d32", "#8e24aa"]

    def __init__(self, series, title, x_label="", y_label="", width=560, height=260, legend="top right"):
        self.series, self.title, self.legend = series, title, legend  # legend: "top right", "top left" or "bottom right"
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
            lx, anchor = (left + 8, "start") if self.legend == "top left" else (left + w - 4, "end")
            ly = top + h - 6 - 14 * (len(self.series) - 1 - i) if self.legend == "bottom right" else top + 14 * (i + 1)
            parts.append(f'<text x="{lx}" y="{ly}" text-anchor="{anchor}" fill="{colour}">{escape(name)}</text>')
        parts.append("</svg>")
        return "".join(parts)


# --- proseB: words and layout for the training, inference and agents pages ---
# Formatting only: the cells keep the ML; these turn its numbers into the
# page's sentences and aligned tables.


def share(x, digits=0):
    """A fraction as a percentage, or "n/a" when it could not be measured."""
    return "n/a" if x is None else f"{x:.{digits}%}"


def share_strict(x):
    """A share as a whole percentage, or with a decimal where rounding would hide a miss (99.6%, not 100%)."""
    if x is None:
        return "n/a"
    return f"{x:.1%}" if f"{x:.0%}" in ("0%", "100%") and 0 < x < 1 else f"{x:.0%}"


def valid_calls_words(valid, calls, rate):
    """Words for how many of a run's tool calls parsed and matched the schema."""
    if not calls:
        return "it wrote no tool call at all"
    return f"{valid} of its {calls} tool calls ({share_strict(rate)}) were valid"


def ordinal(n):
    """1 -> "first", 2 -> "second", ...; "number 11" past ten."""
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    return words[n - 1] if 1 <= n <= len(words) else f"number {n}"


def change(before, after, tolerance=0.005):
    """Words for a change between two shares, true whichever way it went."""
    if before is None or after is None:
        return "could not be measured"
    if after > before + tolerance:
        return f"rose from {before:.0%} to {after:.0%}"
    if after < before - tolerance:
        return f"fell from {before:.0%} to {after:.0%}"
    return f"stayed at about {after:.0%}"


def text_table(header, rows, align=None):
    """Rows of cells as aligned text. align: one letter per column, "l" or "r"
    (default: the first column left, the others right)."""
    table = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)).rstrip()
                     for row in table)


class ChartRow:
    """Small charts side by side (each with its own y axis), wrapping on narrow screens."""

    def __init__(self, *charts):
        self.charts = charts

    def _repr_html_(self):
        cells = "".join(f'<div class="chart-row-item">{c._repr_svg_()}</div>' for c in self.charts)
        return f'<div class="chart-row">{cells}</div>'


# --- end of proseB's block ---


def lens_verdict(ranks):
    """Words for where a token first tops the logit lens; ranks: its rank after each block (1 = the favourite)."""
    first = next((depth for depth, rank in enumerate(ranks, start=1) if rank == 1), None)
    if first is None:
        return "it leads at no depth"
    if first == len(ranks):
        return "it leads only after the last block, so as far as the lens can see, the answer takes shape in the final block"
    return f"it first leads after block {first} of {len(ranks)}"


def jump_verdict(jump=None):
    """Words for the sharpest exact-match jump of the abilities measured during pre-training
    (snippets/training/abilities.py): the ability's label, the two steps, its exact scores and
    the held-out losses there, and the share of each curve's whole change in that interval."""
    if not jump:
        return "None of the exact-match scores rose clearly during this training run, so there is no jump to look at."
    (a, b), (before, after), (loss_a, loss_b) = jump["steps"], jump["scores"], jump["losses"]
    partial_share = jump["partial_share"]
    if partial_share >= 0.5 * jump["share"]:
        partial = (f"its partial-credit score jumped in the same interval ({share_strict(partial_share)} of its "
                   "rise): here the jump is not only an effect of all-or-nothing scoring")
    else:
        partial = (f"its partial-credit score rose by only {share_strict(partial_share)} of its rise: token by "
                   "token, the skill grew more gradually than the exact score shows")
    return (f"The sharpest jump in exact match belongs to {jump['label']}: between step {a} and step {b} "
            f"its exact score went from {before:.0%} to {after:.0%}, {share_strict(jump['share'])} of its whole "
            f"rise in one interval. Over the same steps the held-out loss went from {loss_a:.2f} to {loss_b:.2f} "
            f"({share_strict(jump['loss_share'])} of its whole drop), and {partial}.")


def halfway_words(halfways):
    """Words comparing when exact match and partial credit got halfway, for (label, exact_step, partial_step)."""
    if not halfways:
        return ""
    first = [f"{label} at step {p} instead of {e}" for label, e, p in halfways if p < e]
    same = [label for label, e, p in halfways if p == e]
    later = [label for label, e, p in halfways if p > e]
    parts = []
    if first:
        parts.append("Partial credit got halfway sooner than exact match for " + "; ".join(first) + ".")
    if same:
        parts.append("Both scores got halfway at the same measurement for " + " and ".join(same) + ".")
    if later:
        parts.append("Exact match got halfway first for " + " and ".join(later) + ".")
    return " ".join(parts)


# --- the RLHF page (docs/training/rlhf.md): words for what RL changed ---


def invention_verdict(sft_idk, rlhf_idk, questions):
    """Words for the inventions left after RL, given each model's count of "I don't know" replies."""
    before, after = questions - sft_idk, questions - rlhf_idk
    if after == 0:
        return "RLHF removed every invention here" if before else "neither model invented anything here"
    if after < before:
        return "fewer inventions, but far from none" if after > questions / 4 else "fewer inventions, but not none"
    return "no fewer than before" if after == before else "more than before"


def request_words(sft_declined, rlhf_declined, asked):
    """Words for what RL did to requests a careful assistant declines: each model's count of declines."""
    if rlhf_declined == sft_declined:
        return f"both models declined {sft_declined} of the {asked} requests: RLHF changed nothing here"
    words = (f"the tuned model declined {sft_declined} of the {asked} requests and did as asked, or something "
             f"else, with the other {asked - sft_declined}; the RLHF model declined {rlhf_declined}")
    if rlhf_declined < sft_declined:
        return words + ", fewer than before"
    return words + (", every one of them" if rlhf_declined == asked else "")


def real_change_words(changed, sft_idk, rlhf_idk, sft_right, rlhf_right, questions):
    """Words for what RL did to answers about real things: counts of changed, "I don't know" and right replies."""
    if changed == 0:
        return f"the two models gave the same answer to all {questions} questions"
    right = (f"right answers went from {sft_right} to {rlhf_right}" if rlhf_right != sft_right
             else f"right answers stayed at {sft_right}")
    added = rlhf_idk - sft_idk
    idk = (f", and \"I don't know\" went from {sft_idk} to {rlhf_idk}" if added else "")
    return f"RLHF changed {changed} of the {questions} answers: {right}{idk}"


def placement_words(ranked):
    """Where a ranking sorted by reward puts the answer the rubric liked best: "first", or "third, behind ..."."""
    best = max(ranked, key=lambda a: a["rubric"])
    place = 1 + ranked.index(best)
    behind_idk = any(a["answer"].startswith("I don't know") for a in ranked[:place - 1])
    return ordinal(place) + (", behind an \"I don't know\"" if behind_idk else "")


def separation_words(auc):
    """How well a signal tells real things from invented ones, in words, from its AUC (None: not measured)."""
    if auc is None:
        return "only partly, as far as could be measured"
    if auc >= 0.95:
        return "almost perfectly, yet not quite"
    return "well, but far from perfectly" if auc >= 0.85 else "only partly"


def trade_words(invented_before, invented_after, idk_before, idk_after, tolerance=0.005):
    """One sentence on what RL traded: inventions about invented things against "I don't know" about real ones."""
    if invented_after <= tolerance:
        honesty = "RLHF removed the inventions about things that do not exist"
    elif invented_after < invented_before - tolerance:
        honesty = "RLHF moved the model towards honesty about things that do not exist, part of the way"
    else:
        honesty = "RLHF did not make the model more honest about things that do not exist"
    if idk_after > idk_before + tolerance:
        return honesty + ", and it now says \"I don't know\" more often about real things it could have answered."
    return honesty + ", without saying \"I don't know\" more often about real things."


def decline_wording_words(dw):
    """Sentences on how the reward model scores a decline in words unlike the demonstrations',
    against their own decline and against doing as asked (report: reward_model.decline_wording)."""
    if not dw.get("requests"):
        return "The rankings held no requests about held-out things to measure this on."

    def signed(x):
        return f"{x:+.2f}".replace("-", "\u2212")

    other = dw["other_declines"][0]
    beats = other["beats_complied"]
    measured = (f"Over the {dw['requests']} ranked requests about held-out things, the demonstrations' decline "
                f"scored {signed(dw['demonstrations_decline'])} on average and doing as asked "
                f"{signed(dw['complied'])}, while \"{other['answer']}\" scored {signed(other['reward'])}, "
                + ("below doing as asked for every one of the requests." if beats == 0
                   else f"above doing as asked for only {beats:.0%} of the requests."))
    if beats < 0.5:
        return measured + (" The rankings only ever held declines in the demonstrations' words, and the "
                           "confidence term favours text the tuned model itself would write: the reward model "
                           "learned those words rather than the idea of declining, and a policy trained against "
                           "it is pushed towards that one wording.")
    return measured.replace(" only ", " ") + (" Beyond the demonstrations' words, the reward model learned "
                                              "something of what a decline is.")


def held_out_words(name, held_out):
    """Whether a country was held out of every demonstration and ranking, as a sentence."""
    if name in held_out:
        return f"{name} is one of the countries held out of every demonstration and ranking."
    return f"{name} appears in the demonstrations and rankings."


# Cells write `from guide import artifact, LineChart`: a module made here so it
# exists both in the build's CPython and in Pyodide without another file to ship.
guide = types.ModuleType("guide", "Helpers for the guide's cells.")
guide.artifact = artifact
guide.artifact_bytes = artifact_bytes
guide.LineChart = LineChart
guide.share, guide.change, guide.text_table, guide.ChartRow = share, change, text_table, ChartRow  # proseB
guide.share_strict, guide.valid_calls_words, guide.ordinal = share_strict, valid_calls_words, ordinal  # proseB
guide.lens_verdict = lens_verdict  # the logit lens (docs/inference/generation.md)
guide.jump_verdict, guide.halfway_words = jump_verdict, halfway_words  # abilities (docs/training/pretraining.md)
guide.invention_verdict, guide.real_change_words = invention_verdict, real_change_words  # RLHF page
guide.placement_words, guide.held_out_words = placement_words, held_out_words  # RLHF page
guide.separation_words, guide.trade_words = separation_words, trade_words  # RLHF page
guide.request_words, guide.decline_wording_words = request_words, decline_wording_words  # RLHF page
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
