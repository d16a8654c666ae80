"""sitebuild/notebook_css.py: the notebook page keeps the rules it uses and drops the rest."""

import gzip

from sitebuild import notebook_css

FILLER = "/* JupyterLab's own interface */" + ".jp-Toolbar{display:flex}" * 2_000

CSS = (
    '@charset "UTF-8";\n'
    ".jupyter-wrapper{--used:red;--chain:var(--used);--unused:url(\"data:image/svg+xml;utf8,<svg>{x;y}</svg>\");"
    "--theme-reads:blue}\n"
    ".jupyter-wrapper .jp-Cell{color:var(--chain)}\n"
    ".jupyter-wrapper .jp-Unused{color:green}\n"
    ".jupyter-wrapper :is(.jp-Cell:hover,.jp-Cell:focus) .jp-Prompt{opacity:1}\n"
    "pre,.jp-Unused{margin:0}\n"
    "@media print{.jp-Cell{color:black}.jp-Unused{color:white}}\n"
    "@media print{.jp-Unused{color:white}}\n"
    + FILLER
)


def page(css):
    return (f'<html><head><style type="text/css">{css}</style>'
            '<style type="text/css">.x{color:var(--theme-reads)}</style></head>'
            '<body><div class="jupyter-wrapper"><div class="jp-Cell"><span class="jp-Prompt">'
            "In</span></div></div></body></html>")


def test_keeps_used_rules_and_the_properties_they_read():
    out = notebook_css.trim_page(page(CSS))
    assert ".jupyter-wrapper .jp-Cell{color:var(--chain)}" in out
    assert "--chain:var(--used)" in out and "--used:red" in out  # read through another property
    assert "--theme-reads:blue" in out  # read by the page's other stylesheet
    assert ":is(.jp-Cell:hover,.jp-Cell:focus) .jp-Prompt" in out  # one selector, not split at its comma
    assert "pre{margin:0}" in out  # a selector list loses only its unused members
    assert "@media print{.jp-Cell{color:black}}" in out


def test_drops_unused_rules_properties_and_empty_media():
    out = notebook_css.trim_page(page(CSS))
    assert "jp-Unused" not in out and "jp-Toolbar" not in out
    assert "--unused" not in out and "<svg>" not in out  # braces inside the data URI did not confuse it
    assert out.count("@media") == 1


def test_leaves_small_styles_and_other_pages_alone():
    small = page(".jupyter-wrapper .jp-Unused{color:green}")
    assert notebook_css.trim_page(small) == small
    plain = '<html><head><style type="text/css">' + FILLER + "</style></head><body></body></html>"
    assert notebook_css.trim_page(plain) == plain


def test_the_built_notebook_page_is_small(built_site):
    html = (built_site / "notebooks" / "train_a_tiny_gpt" / "index.html").read_bytes()
    assert len(gzip.compress(html)) < 60_000, "the notebook page's inlined CSS was not trimmed"
