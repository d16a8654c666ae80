"""Trim the stylesheet that mkdocs-jupyter inlines into a notebook's page.

mkdocs-jupyter inlines all of JupyterLab's CSS (about 570 KB, 86 KB gzipped):
the whole lab's interface, and icons as data URIs in custom properties. A
rendered notebook uses a few dozen of its classes. Dropping the rules whose
selectors name classes the page never uses, then the custom properties that no
remaining rule reads, leaves a few KB and looks the same: the page is static,
so no script adds those classes later.
"""

import re

STYLE = re.compile(r'(<style type="text/css">)(.*?)(</style>)', re.S)
CLASS_ATTR = re.compile(r'class="([^"]*)"')
CLASS_IN_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
VAR_READ = re.compile(r"var\(\s*(--[\w-]+)")
BIG = 20_000  # only the inlined lab stylesheets are this large


def statements(css):
    """Top-level (prelude, body) pairs; body is None for `@import ...;`-like statements.
    Braces and semicolons inside quoted strings (data URIs of inline SVG) do not count."""
    out, start, depth, brace, quote = [], 0, 0, 0, None
    for i, c in enumerate(css):
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
            if depth == 1:
                brace = i
        elif c == "}":
            depth -= 1
            if depth == 0:
                out.append((css[start:brace].strip(), css[brace + 1:i]))
                start = i + 1
        elif c == ";" and depth == 0:
            out.append((css[start:i + 1].strip(), None))
            start = i + 1
    return out


def split_top(text, sep):
    """Split at `sep` outside quotes and parentheses: declarations at ";" (data
    URIs hold both), selector lists at "," (`:is(a, b)` is one selector)."""
    out, depth, start, quote = [], 0, 0, None
    for i, c in enumerate(text):
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [part.strip() for part in out if part.strip()]


def rewrite(css, rule):
    """Apply rule(prelude, body) -> text to every style rule, recursing into @media/@supports."""
    parts = []
    for prelude, body in statements(css):
        if body is None:
            parts.append(prelude)
        elif prelude.startswith(("@media", "@supports")):
            inner = rewrite(body, rule)
            if inner:
                parts.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):  # @font-face, @keyframes: kept whole
            parts.append(f"{prelude}{{{body}}}")
        else:
            parts.append(rule(prelude, body))
    return "\n".join(p for p in parts if p)


def purge(css, classes, read_elsewhere=frozenset()):
    """Keep selectors whose classes all occur in `classes`, then only the custom
    properties read by var() here or, `read_elsewhere`, by the page's other styles."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)

    def used(selector):
        needed = CLASS_IN_SELECTOR.findall(re.sub(r":not\([^)]*\)", "", selector))
        return all(c in classes for c in needed)

    def keep_used_selectors(prelude, body):
        kept = [s for s in split_top(prelude, ",") if used(s)]
        return f"{','.join(kept)}{{{body.strip()}}}" if kept else ""

    css = rewrite(css, keep_used_selectors)
    while True:  # properties can read each other: repeat until nothing more goes
        read = set(VAR_READ.findall(css)) | read_elsewhere

        def keep_read_properties(prelude, body):
            kept = [d for d in split_top(body, ";") if not d.startswith("--") or d.split(":", 1)[0].strip() in read]
            return f"{prelude}{{{';'.join(kept)}}}" if kept else ""

        trimmed = rewrite(css, keep_read_properties)
        if trimmed == css:
            return css
        css = trimmed


def trim_page(html):
    """The page with each large inlined stylesheet reduced to what the page uses."""
    if "jupyter-wrapper" not in html:
        return html
    classes = {c for attr in CLASS_ATTR.findall(html) for c in attr.split()}
    # the theme's smaller stylesheets read properties that the big one defines
    rest = STYLE.sub(lambda m: "" if len(m.group(2)) >= BIG else m.group(0), html)
    read_elsewhere = frozenset(VAR_READ.findall(rest))

    def trim(match):
        opening, css, closing = match.groups()
        return match.group(0) if len(css) < BIG else opening + purge(css, classes, read_elsewhere) + closing

    return STYLE.sub(trim, html)
