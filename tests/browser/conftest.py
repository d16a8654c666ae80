"""Fixtures for the in-browser tests: a built site, a local server, one headless chromium.

* The site is built once per session by tests/conftest.py's ``built_site``
  (``mkdocs build --strict``) unless GUIDE_SITE_DIR names an already built one.
* It is served from 127.0.0.1 on a free port; chromium resolves no other host
  (see bench/_browser.py), so Pyodide's package CDN is always unreachable here:
  numpy cells must take their offline path.
* One browser per session (a fresh temp profile on disk, see SHARED_PROFILE);
  every test gets its own page, so its own worker and interpreter, wrapped in
  a ``Guide`` (fixture ``guide``) that records console errors, page errors and
  every request (workers' included) and knows the cell actions tests need.

Environment: GUIDE_SITE_DIR=<built site> skips the build; GUIDE_BROWSER_CACHE=fresh
gives each test a new in-memory context (all cold, slower).
"""

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import _browser  # noqa: E402  (bench/_browser.py: build, serve, launch flags)

sys.path.remove(str(ROOT / "bench"))

# Generous: the first Run boots Pyodide (4-10 s cold here), and a slow CI
# machine may take several times that. The site's own limit is 90 s.
BOOT_TIMEOUT_MS = 120_000
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives the built site in headless chromium (needs /usr/bin/chromium)"
    )


@pytest.fixture(scope="session")
def site_dir(built_site):
    # One strict build per test session, shared with the content tests
    # (tests/conftest.py: GUIDE_SITE_DIR, else mkdocs build --strict).
    return built_site


@pytest.fixture(scope="session")
def base_url(site_dir):
    with _browser.serve(site_dir) as url:
        yield url


@pytest.fixture(scope="session")
def site_pages(site_dir):
    return _browser.site_pages(site_dir)


@pytest.fixture(scope="session")
def expected_pages():
    return doc_pages()


# One chromium per session. By default its profile is a fresh temp dir on disk
# shared by all tests (so later boots reuse the HTTP disk cache and V8's wasm
# code cache, as a returning reader's browser would: about 4 s instead of 6-9 s
# per boot here); each test still gets its own page, hence its own worker and
# interpreter. GUIDE_BROWSER_CACHE=fresh gives every test a new in-memory
# context instead (everything cold, slower).
SHARED_PROFILE = os.environ.get("GUIDE_BROWSER_CACHE", "shared") != "fresh"
VIEWPORT = {"width": 1200, "height": 900}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """The session's browser (fresh mode) or its persistent context (shared mode)."""
    if not Path(_browser.CHROMIUM).exists():
        pytest.skip(f"no chromium at {_browser.CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        if SHARED_PROFILE:
            b = _browser.launch_persistent(p, tmp_path_factory.mktemp("chromium-profile"), viewport=VIEWPORT)
        else:
            b = _browser.launch(p)
        yield b
        b.close()


class Guide:
    """One test's page, with what it did recorded and the cell actions tests need.

    Listeners fill ``requests`` (page and Web Workers), ``failed``,
    ``console_errors`` (text, location url) and ``page_errors``.
    """

    BOOT_TIMEOUT_MS = BOOT_TIMEOUT_MS

    def __init__(self, context, base_url):
        self.context, self.base_url = context, base_url
        self.requests, self.failed, self.console_errors, self.page_errors = [], [], [], []
        # Context-level: also sees requests made by the page's Web Workers (and
        # requests answered from the cache). Earlier tests' pages are closed,
        # so everything recorded belongs to this test's page.
        context.on("request", self._on_request)
        context.on("requestfailed", self._on_failed)
        self.page = context.new_page()
        # The page's "console" event carries its workers' console messages too.
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def close(self):
        self.context.remove_listener("request", self._on_request)
        self.context.remove_listener("requestfailed", self._on_failed)
        self.page.close()

    def _on_request(self, request):
        self.requests.append(request.url)

    def _on_failed(self, request):
        self.failed.append((request.url, request.failure))

    def _on_console(self, msg):
        if msg.type == "error":
            self.console_errors.append((msg.text, (msg.location or {}).get("url", "")))

    # --- page -----------------------------------------------------------------------

    def open(self, path, wait="networkidle"):
        self.page.goto(self.base_url + path, wait_until=wait)
        return self.page

    def assert_no_errors(self):
        """Nothing logged as an error (but the offline package URL, see below), no uncaught exception."""
        assert self.unexpected_console_errors() == []
        assert self.page_errors == []

    def axe_violations(self, selector):
        """axe-core's serious and critical violations inside the first element
        matching selector (axe is injected into the page on first use)."""
        if not AXE_JS.is_file():
            pytest.fail("node_modules/axe-core is missing: run `npm ci`")
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
        found = self.page.evaluate("""async (selector) => (await axe.run(document.querySelector(selector),
            {resultTypes: ['violations']})).violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.html.slice(0, 120))}))""", selector)
        return [v for v in found if v["impact"] in ("serious", "critical")]

    def assert_stays_on_site(self):
        """Every request went to the served site, and none failed."""
        assert [u for u in self.requests if not u.startswith(self.base_url)] == []
        assert self.failed == []

    def watch_text(self, locator):
        """A list that receives the element's text every time it changes (progress
        messages that a later state overwrites, say); call before the action."""
        seen = []
        name = f"__guideSeen{id(seen)}"  # unique per call: expose_function names are per page
        self.page.expose_function(name, lambda text: seen.append(text))
        locator.evaluate(f"s => new MutationObserver(() => window.{name}(s.textContent))"
                         ".observe(s, {childList: true, characterData: true, subtree: true})")
        return seen

    def route_model_file(self, name, handler):
        """Route requests for assets/model/<name>, whatever version (?v=) they ask for."""
        self.page.route(re.compile(rf"/assets/model/{re.escape(name)}(\?|$)"), handler)

    def replace_model_file(self, name, body):
        """Serve ``body`` as assets/model/<name>, with the build's manifest (and the
        pages' id of it) changed to match, as a build that shipped it would have."""
        manifest = {}

        def serve_manifest(route):
            if not manifest:
                listed = json.loads(route.fetch().body())
                listed[name] = {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
                manifest["text"] = json.dumps(listed, indent=1, sort_keys=True) + "\n"
            route.fulfill(status=200, body=manifest["text"], content_type="application/json")

        def serve_page(route):
            if route.request.resource_type != "document":
                return route.fallback()
            if not manifest:
                listed = json.loads(route.fetch(url=self.base_url + "/assets/model/manifest.json").body())
                listed[name] = {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
                manifest["text"] = json.dumps(listed, indent=1, sort_keys=True) + "\n"
            new_id = hashlib.sha256(manifest["text"].encode()).hexdigest()[:16]
            html = route.fetch().text()
            route.fulfill(status=200, content_type="text/html",
                          body=re.sub(r'"modelManifest": "[0-9a-f]*"', f'"modelManifest": "{new_id}"', html))

        self.page.route(lambda url: url.startswith(self.base_url) and url.split("?")[0].endswith(("/", ".html")),
                        serve_page)
        self.route_model_file("manifest.json", serve_manifest)
        self.route_model_file(name, lambda route: route.fulfill(
            status=200, body=body, content_type="application/octet-stream"))

    def settings(self):
        """The page's runtime settings (``#guide-settings``); {} on a page without them (404)."""
        node = self.page.locator("#guide-settings")
        return json.loads(node.text_content()) if node.count() else {}

    def packages_url(self):
        """The configured Pyodide package URL, or None where the page has no settings."""
        return self.settings().get("pyodidePackages")

    def unexpected_console_errors(self):
        """Console errors, except the one expected failure (see below)."""
        packages = self.packages_url()
        kept = []
        for text, url in self.console_errors:
            # Justified exception: tests run offline, so Pyodide's package CDN
            # (the configured pyodidePackages URL, the only outside URL a page
            # may fetch) does not resolve, and Chromium may log that failed
            # fetch as "Failed to load resource". Only that text for exactly
            # that URL prefix is ignored; the cell must still show its notice.
            if packages and text.startswith("Failed to load resource") and url.startswith(packages):
                continue
            kept.append((text, url))
        return kept

    def state(self, cell):
        """A one-line description of a cell, for assertion messages."""
        return (
            f"status={cell.locator('.pycell-status').all_text_contents()!r}, "
            f"class={cell.get_attribute('class')!r}, output={self.output_items(cell)!r}, "
            f"console errors={self.console_errors!r}, page errors={self.page_errors!r}"
        )

    # --- cells ----------------------------------------------------------------------

    def cell(self, index):
        return self.page.locator(f'.pycell[data-cell="{index}"]')

    @staticmethod
    def output_items(cell):
        """The output area's items as [kind, text] pairs, kind = the item's pycell-* class."""
        return cell.locator(".pycell-output").evaluate(
            """out => Array.from(out.children).map(el => {
                const kind = Array.from(el.classList).find(c => c.startsWith('pycell-')) || el.tagName;
                return [kind, kind === 'pycell-html' ? el.innerHTML : el.textContent];
            })"""
        )

    @staticmethod
    def origin(cell):
        return cell.locator(".pycell-output").get_attribute("data-origin")

    @staticmethod
    def source(cell):
        """The cell's original source, from its ``script.pycell-src`` JSON."""
        return json.loads(cell.locator("script.pycell-src").text_content())

    def run(self, cell):
        """Click the cell's Run button, first arming a watch on its status and class.

        ``wait_ran`` / ``wait_done`` then only accept a state reached after this
        click (a "Ran in 0.02 s" left over from an earlier run does not count).
        """
        cell.evaluate(
            """c => {
                c.__guideChanged = false;
                c.__guideObserver && c.__guideObserver.disconnect();
                c.__guideObserver = new MutationObserver(() => { c.__guideChanged = true; });
                c.__guideObserver.observe(c, {subtree: true, childList: true, characterData: true,
                                              attributes: true, attributeFilter: ['class', 'data-origin']});
            }"""
        )
        cell.locator(".pycell-run").click()

    def _wait(self, cell, predicate, what, timeout):
        try:
            self.page.wait_for_function(
                "([c, pred]) => c.__guideChanged === true && !c.classList.contains('running')"
                " && (new Function('c', pred))(c)",
                arg=[cell.element_handle(), predicate],
                timeout=timeout,
                polling=50,
            )
        except Exception as exc:
            raise AssertionError(f"cell never reached {what}: {self.state(cell)}") from exc

    RAN = "const s = c.querySelector('.pycell-status'); return !!s && s.textContent.trim().startsWith('Ran');"
    NOTICE = "return !!c.querySelector('.pycell-notice');"

    def wait_ran(self, cell, timeout=BOOT_TIMEOUT_MS):
        """After ``run``: wait until the status reads "Ran..." and the cell is no longer running."""
        self._wait(cell, self.RAN, "status 'Ran...'", timeout)

    def wait_notice(self, cell, timeout=BOOT_TIMEOUT_MS):
        """After ``run``: wait until the cell shows a ``.pycell-notice`` and is no longer running."""
        self._wait(cell, self.NOTICE, "a .pycell-notice", timeout)

    def wait_done(self, cell, timeout=BOOT_TIMEOUT_MS):
        """After ``run``: either of the above."""
        either = f"return (() => {{ {self.RAN} }})() || (() => {{ {self.NOTICE} }})();"
        self._wait(cell, either, "'Ran...' or a notice", timeout)

    def open_editor(self, cell):
        """Click the code view; wait for CodeMirror to take its place (at once if it has)."""
        editor = cell.locator(".cm-editor")
        if editor.count() and editor.is_visible():
            return editor
        cell.locator(".pycell-code").click()
        editor.wait_for(state="visible", timeout=30_000)
        return editor

    def replace_code(self, cell, code):
        """Open the editor, select everything, and type ``code`` like a reader would."""
        editor = self.open_editor(cell)
        editor.locator(".cm-content").click()
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(code)
        return editor

    @staticmethod
    def editor_text(cell):
        """The editor's document, read from CodeMirror's line elements."""
        return cell.locator(".cm-content").evaluate(
            "c => Array.from(c.querySelectorAll('.cm-line')).map(l => l.textContent).join('\\n')"
        )


@pytest.fixture
def context(browser):
    if SHARED_PROFILE:
        browser.set_default_timeout(30_000)
        yield browser  # the persistent context
        return
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def guide(context, base_url):
    """A fresh page (own worker, own interpreter), recorded."""
    g = Guide(context, base_url)
    yield g
    g.close()


@pytest.fixture
def guide_on(context):
    """guide_on(url): a fresh, recorded page on another server (tests/browser/test_faults.py)."""
    made = []

    def make(url):
        made.append(Guide(context, url))
        return made[-1]

    yield make
    for g in made:
        g.close()


def doc_pages():
    """URL paths of the site's pages, known before the build (from docs/*.md) + the 404 page."""
    docs = ROOT / "docs"
    urls = []
    for md in sorted([*docs.rglob("*.md"), *docs.rglob("*.ipynb")]):
        rel = md.relative_to(docs).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("index", "README"):
            parts = parts[:-1]
        urls.append("/" + "".join(p + "/" for p in parts))
    return urls + ["/404.html"]


def pytest_generate_tests(metafunc):
    # Parametrize over every page: collection happens before the build, so the
    # list comes from docs/; test_every_built_page_is_covered checks it.
    if "site_page" in metafunc.fixturenames:
        metafunc.parametrize("site_page", doc_pages())


@pytest.fixture(scope="session")
def full_base_url(full_site):
    """The site built around the full model (tests/conftest.py: full_site), served like the other."""
    with _browser.serve(full_site) as url:
        yield url


@pytest.fixture
def full_guide(context, full_base_url):
    """A fresh, recorded page on the full-model site."""
    g = Guide(context, full_base_url)
    yield g
    g.close()
