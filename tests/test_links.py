"""Links and weight of the built site, read from its files (no browser).

* Every internal reference of every page resolves to a file of the site:
  href and src attributes (relative or site-absolute), srcset entries, the
  import map's module URLs; a ``#fragment`` must be an id (or an ``<a name>``)
  of the target page. The site's own CSS ``url(...)`` references and the
  relative imports of its JavaScript modules must resolve as well.
* External references are allowed only from EXTERNAL_ALLOWED (exact URLs of
  well-known, stable pages). The one outside URL a page may *fetch*, Pyodide's
  package base URL, lives in the page's settings JSON, not in an attribute.
* Site-absolute references ("/x/") are refused: GitHub Pages serves a project
  site under /<repository>/, where they would miss. The exception is 404.html,
  which MkDocs writes with site-absolute URLs (it is served at any missing
  URL): those must start with the path of SITE_URL (default "/", what MkDocs
  uses while mkdocs.yml's site_url is empty) and resolve below it.
* Weight, a lower bound of what the browser loads before any interaction: the
  page's HTML plus the stylesheets, scripts (following static ES module
  imports), images and icons it references stays under PAGE_BUDGET_KB; the
  full measurement, fonts, JSON and workers' fetches included, is
  tests/browser/test_quality.py::test_page_weight_before_interaction.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

# Outside URLs a page may link to: well-known, stable pages only, each with its reason.
EXTERNAL_ALLOWED = {
    "https://onnx.ai/",         # inference/two-files: what the parameter file's format is
    "https://onnxruntime.ai/",  # inference pages: the runtime the demos use
}
PAGE_BUDGET_KB = 500
URL_ATTRS = ("href", "src", "poster", "data")
# Where the site is deployed; only 404.html's site-absolute URLs depend on it.
SITE_PATH = urllib.parse.urlsplit(os.environ.get("SITE_URL", "")).path.rstrip("/") + "/"
SKIP_SCHEMES = ("mailto:", "tel:", "data:", "javascript:", "blob:")
CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
JS_IMPORT = re.compile(
    r"""(?:\bimport\s*(?:[\w*{}\s,$]+\s*from\s*)?|\bexport\s*[\w*{}\s,$]+\s*from\s*|\bimport\s*\(\s*)["'](\.{1,2}/[^"']+)["']"""
)


# ------------------------------------------------------------------------------------
# The built site, parsed once


class Site:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.pages = {}  # file path -> BeautifulSoup
        for path in sorted(self.root.rglob("*.html")):
            rel = path.relative_to(self.root)
            if rel.parts[0] in ("assets", "vendor", "search"):
                continue
            self.pages[path] = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        self._ids = {}

    def url_of(self, path: Path) -> str:
        """The page's URL path, as the server sees it ("/", "/tokens/", "/404.html")."""
        rel = path.relative_to(self.root).as_posix()
        if rel == "index.html":
            return "/"
        return "/" + (rel[: -len("index.html")] if rel.endswith("/index.html") else rel)

    def target_file(self, url_path: str) -> Path | None:
        """The file the static server answers ``url_path`` with, or None (404)."""
        rel = urllib.parse.unquote(url_path).lstrip("/")
        candidate = (self.root / rel).resolve()
        if not (candidate == self.root or self.root in candidate.parents):
            return None  # outside the site
        if url_path.endswith("/") or candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def ids(self, path: Path) -> set[str]:
        if path not in self._ids:
            soup = self.pages.get(path) or BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
            found = {el["id"] for el in soup.find_all(id=True)}
            found |= {el["name"] for el in soup.find_all("a", attrs={"name": True})}
            self._ids[path] = found
        return self._ids[path]


@pytest.fixture(scope="module")
def site(built_site):
    s = Site(Path(built_site))
    assert s.pages, f"no HTML pages in {built_site}"
    return s


def references(soup):
    """(tag description, attribute, URL) of every URL-valued attribute and import map entry."""
    for el in soup.find_all(True):
        for attr in URL_ATTRS:
            value = el.get(attr)
            if isinstance(value, str) and value.strip():
                yield el, attr, value.strip()
        srcset = el.get("srcset")
        if srcset:
            for part in srcset.split(","):
                if part.strip():
                    yield el, "srcset", part.strip().split()[0]
    for script in soup.find_all("script", attrs={"type": "importmap"}):
        data = json.loads(script.string or "{}")
        for url in list(data.get("imports", {}).values()) + [
            u for scope in data.get("scopes", {}).values() for u in scope.values()
        ]:
            yield script, "importmap", url


def describe(el):
    s = el.name
    if el.get("id"):
        s += f"#{el['id']}"
    if el.get("class"):
        s += "." + ".".join(el["class"])
    text = el.get_text(" ", strip=True)[:40]
    return f"<{s}>" + (f" {text!r}" if text else "")


def check_reference(site, page_path, page_url, value):
    """None if ``value`` (from the page at page_url) is fine, else why not."""
    if value.startswith(SKIP_SCHEMES):
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or value.startswith("//"):
        return None if value in EXTERNAL_ALLOWED else "external URL not in EXTERNAL_ALLOWED"
    if value.startswith("/"):
        if page_url != "/404.html":
            return "site-absolute URL (breaks when the site is served under /<repository>/)"
        if not value.startswith(SITE_PATH):
            return f"404.html URL outside the site's path {SITE_PATH!r} (set SITE_URL to the deployed URL)"
        value = value[len(SITE_PATH):] or "./"
        page_url = "/"
        parts = urllib.parse.urlsplit(value)
    absolute = urllib.parse.urljoin("http://site" + page_url, value)
    target_path = urllib.parse.urlsplit(absolute).path
    target = page_path if not parts.path else site.target_file(target_path)
    if target is None:
        return f"no such file in the site ({target_path})"
    if parts.fragment and target.suffix == ".html":
        fragment = urllib.parse.unquote(parts.fragment)
        if fragment not in site.ids(target) and fragment != "top":
            return f"no element with id {fragment!r} in {site.url_of(target)}"
    return None


# ------------------------------------------------------------------------------------
# Tests


def test_every_internal_reference_resolves(site):
    problems = []
    checked = 0
    for path, soup in site.pages.items():
        page_url = site.url_of(path)
        for el, attr, value in references(soup):
            checked += 1
            why = check_reference(site, path, page_url, value)
            if why:
                problems.append(f"{page_url}: {describe(el)} {attr}={value!r}: {why}")
    assert checked > 0
    assert not problems, f"{len(problems)} broken or disallowed reference(s):\n" + "\n".join(sorted(set(problems)))


def test_external_allowlist_is_used(site):
    """Every allowlist entry is still linked somewhere (a stale entry would hide a change)."""
    used = {value for soup in site.pages.values() for _, _, value in references(soup)}
    stale = sorted(EXTERNAL_ALLOWED - used)
    assert not stale, f"EXTERNAL_ALLOWED entries no page links to any more (remove them): {stale}"


def test_the_one_fetched_outside_url_is_pyodides_package_url(site):
    """The settings JSON may name Pyodide's package CDN, and nothing else outside the site."""
    for path, soup in site.pages.items():
        node = soup.find("script", id="guide-settings")
        if node is None:
            continue
        settings = json.loads(node.string)
        outside = {k: v for k, v in settings.items() if isinstance(v, str) and re.match(r"^[a-z]+://", v)}
        assert set(outside) <= {"pyodidePackages"}, f"{site.url_of(path)}: outside URLs in settings: {outside}"
        if "pyodidePackages" in outside:
            assert outside["pyodidePackages"].startswith("https://cdn.jsdelivr.net/pyodide/"), outside


def site_files(site, pattern):
    return [p for p in site.root.rglob(pattern) if "search" not in p.relative_to(site.root).parts[:1]]


def test_stylesheet_urls_resolve(site):
    problems = []
    for css in site_files(site, "*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for _, url in CSS_URL.findall(text):
            url = url.strip()
            if url.startswith(("data:", "#")) or urllib.parse.urlsplit(url).scheme:
                if urllib.parse.urlsplit(url).scheme in ("http", "https"):
                    problems.append(f"{css.relative_to(site.root)}: outside URL {url}")
                continue
            target = (css.parent / urllib.parse.unquote(urllib.parse.urlsplit(url).path)).resolve()
            if not target.is_file():
                problems.append(f"{css.relative_to(site.root)}: url({url}) -> missing {target}")
    assert not problems, "\n".join(problems)


def test_own_javascript_relative_imports_resolve(site):
    problems = []
    scripts = site.root / "javascripts"
    for js in sorted(scripts.rglob("*.js")) + sorted(scripts.rglob("*.mjs")):
        for spec in JS_IMPORT.findall(js.read_text(encoding="utf-8")):
            if not (js.parent / spec).resolve().is_file():
                problems.append(f"{js.relative_to(site.root)}: import {spec!r} has no file")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------
# Weight (static lower bound)


def static_imports(site, js: Path, seen: set):
    """``js`` and every file it statically imports (relative specifiers), recursively."""
    if js in seen or not js.is_file():
        return
    seen.add(js)
    text = js.read_text(encoding="utf-8", errors="replace")
    for spec in re.findall(r"""\b(?:import|export)\s+(?:[\w*{}\s,$]+\s+from\s+)?["'](\.{1,2}/[^"']+)["']""", text):
        static_imports(site, (js.parent / spec).resolve(), seen)


def page_payload(site, path: Path, soup) -> dict[Path, int]:
    """Files the browser must fetch to show the page: the HTML, linked CSS,
    scripts and their static imports, images and icons."""
    page_url = site.url_of(path)
    files = {path}
    for el in soup.find_all(["link", "script", "img"]):
        if el.name == "link":
            rel = " ".join(el.get("rel", []))
            if not any(r in rel for r in ("stylesheet", "icon", "modulepreload", "preload")):
                continue
            url = el.get("href")
        else:
            url = el.get("src")
        if not url or urllib.parse.urlsplit(url).scheme:
            continue
        target = site.target_file(urllib.parse.urlsplit(urllib.parse.urljoin("http://site" + page_url, url)).path)
        if target is None:
            continue
        if el.name == "script" and el.get("type") == "module":
            seen = set()
            static_imports(site, target, seen)
            files |= seen
        else:
            files.add(target)
    return {f: f.stat().st_size for f in files}


def test_page_weight_static_lower_bound(site):
    rows, over = [], []
    for path, soup in site.pages.items():
        payload = page_payload(site, path, soup)
        raw = sum(payload.values())
        gz = sum(len(gzip.compress(f.read_bytes(), 6, mtime=0)) for f in payload)
        rows.append(f"{site.url_of(path):36} {len(payload):4d} files {raw / 1024:8.1f} KB raw {gz / 1024:8.1f} KB gzip")
        if gz > PAGE_BUDGET_KB * 1024:  # transferred size: GitHub Pages gzips text files
            biggest = sorted(payload.items(), key=lambda kv: -kv[1])[:5]
            over.append(f"{site.url_of(path)}: {gz / 1024:.1f} KB gzipped > {PAGE_BUDGET_KB} KB; largest: "
                        + ", ".join(f"{p.relative_to(site.root)} {n / 1024:.1f} KB" for p, n in biggest))
    print("\nstatic page weight (HTML + CSS + scripts and their static imports + images):\n  " + "\n  ".join(rows))
    assert not over, "\n".join(over)
