"""Quality gates for every built page, in real Chromium: accessibility, phone width, weight.

* Accessibility: axe-core (node_modules/axe-core, pinned in package-lock.json)
  is injected into each page and ``axe.run()`` must report no violation of
  impact "serious" or "critical", in the light and the dark palette, on the
  page as loaded and again after its demos have been opened (the tokenizer
  playground focused, a generation step taken, a cell's editor opened, ...).
* Phone width: at 360x740 and 390x844 no page scrolls sideways, and within
  each widget the visible controls (buttons, inputs, selects, textareas,
  summaries) do not overlap and stay inside the screen, also after its demos
  have opened. A full-page screenshot of each page goes to PHONE_SHOTS
  (default /tmp/phone/) for a person to look at; screenshots are not asserted.
* Weight: what a page transfers before the reader touches anything (its HTML
  and every CSS, JS, font, image and JSON file the browser fetches, workers
  included, measured like bench/page_weight.py with the cache off) stays under
  PAGE_BUDGET_KB as transferred: gzipped, as GitHub Pages serves every text
  file (wasm and images are counted as they are). The uncompressed figure is
  printed beside it; the theme alone is about 475 KB of it.

Run: GUIDE_SITE_DIR=<built site> pytest tests/browser/test_quality.py -s (the
``-s`` shows the weight table and where the screenshots went).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
SCHEMES = ("light", "dark")
PHONES = ({"width": 360, "height": 740}, {"width": 390, "height": 844})
PHONE_SHOTS = Path(os.environ.get("PHONE_SHOTS", "/tmp/phone"))
PAGE_BUDGET_KB = 300  # the issue: the heaviest page before interaction stays under 300 KB gzipped
DEMO_TIMEOUT_MS = 120_000  # a demo may boot Pyodide or onnxruntime-web on a slow machine

# Controls whose boxes must not overlap, and the widgets they are compared within.
CONTROLS = "button, input:not([type=hidden]), select, textarea, summary"
WIDGETS = (".pycell, .tokenizer-playground, .live-training, .generation-lab, .attention-view, "
           ".embedding-neighbours, .lab")

# Already-compressed formats: a static host serves them as they are (as bench/page_weight.py).
NOT_GZIPPED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".gz", ".zip", ".whl", ".wasm")


# ------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="module")
def axe_source():
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS.relative_to(ROOT)} is missing: run `npm ci` (axe-core is pinned in package-lock.json)")
    return AXE_JS.read_text(encoding="utf-8")


def open_page(guide, path, scheme="light"):
    """Open ``path`` with the reader's system set to ``scheme`` and check the palette follows it.

    Material remembers a palette the reader picked (localStorage "...__palette");
    the shared test profile must not carry one page's choice into another.
    """
    page = guide.page
    page.emulate_media(color_scheme=scheme)
    page.add_init_script(
        "for (const k of Object.keys(localStorage)) if (k.endsWith('__palette')) localStorage.removeItem(k);"
    )
    guide.open(path)
    if page.locator("body[data-md-color-scheme]").count():
        want = "slate" if scheme == "dark" else "default"
        got = page.locator("body").get_attribute("data-md-color-scheme")
        assert got == want, f"{path}: prefers-color-scheme {scheme} shows palette {got!r}, not {want!r}"
    return page


def run_axe(page, source):
    """Serious and critical axe violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    violations = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html.slice(0, 160),
                                          summary: (n.failureSummary || '').split('\\n').slice(0, 3).join(' ')})),
            }));
        }"""
    )
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe_violations(violations):
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({v['helpUrl']}), {len(v['nodes'])} element(s):")
        for n in v["nodes"][:8]:
            lines.append(f"    {' '.join(n['target'])}  {n['html']}")
            if n["summary"]:
                lines.append(f"      {n['summary']}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def no_page_errors(guide, where):
    assert guide.page_errors == [], f"{where}: page errors {guide.page_errors}"


def page_url(source):
    """URL path of the page built from ``source`` (a file under docs/)."""
    parts = list(source.relative_to(ROOT / "docs").with_suffix("").parts)
    if parts[-1] in ("index", "README"):
        parts = parts[:-1]
    return "/" + "".join(p + "/" for p in parts)


def all_pages():
    """Every page, known before the build: docs/**/*.md, the notebooks (mkdocs-jupyter), 404.html.

    (The shared ``site_page`` parametrization covers Markdown pages only.)"""
    docs = ROOT / "docs"
    sources = sorted(docs.rglob("*.md")) + sorted(p for p in docs.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return [page_url(p) for p in sources] + ["/404.html"]


def pages_with_demos():
    """URL paths of the pages whose Markdown holds a demo or a cell (known before the build)."""
    marks = ("tokenizer-playground", "live-training", "generation-lab", "attention-view",
             "embedding-neighbours", "reward-scorer", "```pycell")
    return [page_url(md) for md in sorted((ROOT / "docs").rglob("*.md"))
            if any(m in md.read_text(encoding="utf-8") for m in marks)]


# ------------------------------------------------------------------------------------
# Demos: how to open each widget a page has (cheap ones only). Each takes the page
# and leaves the widget in its opened state (results, tables, editor shown).


def _wait_state(page, selector, states, timeout=DEMO_TIMEOUT_MS):
    node = page.locator(selector).first
    page.wait_for_function(
        "([n, states]) => states.includes(n.dataset.state)",
        arg=[node.element_handle(), list(states)], timeout=timeout, polling=100,
    )
    return node


def open_tokenizer(page):
    box = page.locator(".tokenizer-playground").first
    box.locator("textarea").focus()  # focusing loads the tokenizer and shows the pieces
    page.wait_for_selector(".tokenizer-playground .tp-output:not([hidden]) .tp-piece", timeout=DEMO_TIMEOUT_MS)
    box.locator(".tp-pieces").focus()
    page.keyboard.press("ArrowRight")  # a selected piece and its detail line


def open_live_training(page):
    root = page.locator(".live-training").first
    root.locator("button.lt-step").click()  # boots Python, runs one step: tables and curve appear
    page.wait_for_function(
        "r => !r.classList.contains('lt-running') && r.querySelector('svg.lt-curve circle')",
        arg=root.element_handle(), timeout=DEMO_TIMEOUT_MS, polling=100,
    )


def open_generation_lab(page):
    node = page.locator(".generation-lab").first
    settings = node.locator(".lab-settings")
    if settings.count() and not settings.evaluate("d => d.open"):
        settings.locator("summary").click()
    node.locator(".lab-step").click()  # loads the model, shows every pipeline stage of one step
    _wait_state(page, ".generation-lab", ("paused", "done", "error"))
    assert node.get_attribute("data-state") != "error", node.locator(".lab-status").first.text_content()


def open_attention_view(page):
    view = page.locator(".attention-view").first
    view.locator(".att-pronoun").click()
    _wait_state(page, ".attention-view", ("done", "error"))
    assert view.get_attribute("data-state") == "done"
    view.locator(".att-token").nth(2).hover()


def open_embedding_neighbours(page):
    view = page.locator(".embedding-neighbours").first
    view.locator(".emb-find").click()
    _wait_state(page, ".embedding-neighbours", ("done", "error"))
    assert view.get_attribute("data-state") == "done"


def open_schema_playground(page):
    node = page.locator(".schema-playground").first
    node.locator(".sp-constrained").click()  # loads the model, decodes one constrained document
    _wait_state(page, ".schema-playground", ("done", "error", "schema-error"))
    assert node.get_attribute("data-state") == "done"


def open_agent_panel(page):
    node = page.locator(".agent-panel").first
    node.locator(".agent-step").click()  # loads the agent, runs one assistant turn
    _wait_state(page, ".agent-panel", ("paused", "done", "error"))
    assert node.get_attribute("data-state") != "error", node.locator(".agent-status").first.text_content()


def open_reward_scorer(page):
    node = page.locator(".reward-scorer").first
    node.locator(".rs-score").click()  # loads the reward model, scores the preset answers
    _wait_state(page, ".reward-scorer", ("done", "error", "invalid"))
    assert node.get_attribute("data-state") == "done", node.locator(".rs-status").first.text_content()


def open_cell_editor(page):
    cell = page.locator(".pycell").first
    cell.locator(".pycell-code").click()
    cell.locator(".cm-editor").wait_for(state="visible", timeout=30_000)


DEMOS = {  # selector present on the page -> how to open it
    ".tokenizer-playground": open_tokenizer,
    ".live-training": open_live_training,
    ".generation-lab": open_generation_lab,
    ".attention-view": open_attention_view,
    ".embedding-neighbours": open_embedding_neighbours,
    ".schema-playground": open_schema_playground,
    ".agent-panel": open_agent_panel,
    ".reward-scorer": open_reward_scorer,
    ".pycell": open_cell_editor,
}


def open_demos(page):
    """Open every demo the page has; returns the names of those opened."""
    opened = []
    for selector, action in DEMOS.items():
        if page.locator(selector).count():
            action(page)
            opened.append(selector)
    return opened


# ------------------------------------------------------------------------------------
# Accessibility


def test_every_built_page_is_checked(site_pages):
    missing = sorted(set(site_pages) - set(all_pages()))
    assert not missing, f"built pages these tests do not know: {missing}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("site_path", all_pages())
def test_axe_as_loaded(guide, site_path, scheme, axe_source):
    site_page = site_path
    page = open_page(guide, site_page, scheme)
    violations = run_axe(page, axe_source)
    assert not violations, (
        f"{site_page} ({scheme} palette, as loaded): {len(violations)} serious/critical axe violation(s):\n"
        + describe_violations(violations)
    )
    no_page_errors(guide, site_page)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("path", pages_with_demos())
def test_axe_with_demos_open(guide, path, scheme, axe_source):
    page = open_page(guide, path, scheme)
    opened = open_demos(page)
    assert opened, f"{path}: no demo or cell found to open"
    violations = run_axe(page, axe_source)
    assert not violations, (
        f"{path} ({scheme} palette, after opening {', '.join(opened)}): "
        f"{len(violations)} serious/critical axe violation(s):\n" + describe_violations(violations)
    )
    no_page_errors(guide, path)


# ------------------------------------------------------------------------------------
# Phone width

LAYOUT_PROBE = """([widgets, controls]) => {
    const doc = document.documentElement;
    const visible = el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
        && el.getClientRects().length > 0;
    const name = el => {
        let s = el.tagName.toLowerCase();
        if (el.id) s += '#' + el.id;
        if (el.classList.length) s += '.' + Array.from(el.classList).join('.');
        const text = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().slice(0, 30);
        return text ? `${s} "${text}"` : s;
    };
    const result = {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, overlaps: [], offscreen: [],
                    widest: []};
    // what sticks out on the right and is not clipped by a scrolling ancestor: the culprits
    const clipped = el => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
            if (getComputedStyle(a).overflowX !== 'visible') return true;
        return false;
    };
    const culprits = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right <= doc.clientWidth + 1 || !visible(el) || clipped(el)) continue;
        if (culprits.some(c => c.contains(el))) continue;
        culprits.push(el);
        let path = [];
        for (let a = el; a && a !== document.body && path.length < 4; a = a.parentElement) path.unshift(name(a).split(' "')[0]);
        result.widest.push([path.join(' > '), Math.round(r.right)]);
    }
    result.widest = result.widest.slice(-8);
    document.querySelectorAll(widgets).forEach((w, wi) => {
        if (w.parentElement && w.parentElement.closest(widgets)) return;  // nested: compared in its outer widget
        const items = Array.from(w.querySelectorAll(controls)).filter(visible).map(el => [el, el.getBoundingClientRect()])
            .filter(([, r]) => r.width > 0 && r.height > 0);
        for (const [el, r] of items) {
            if (r.left < -1 || r.right > doc.clientWidth + 1)
                result.offscreen.push(`${name(w)} #${wi}: ${name(el)} spans x ${Math.round(r.left)}..${Math.round(r.right)}`);
        }
        for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
            const [a, ra] = items[i], [b, rb] = items[j];
            if (a.contains(b) || b.contains(a)) continue;
            const dx = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
            const dy = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
            if (dx > 1 && dy > 1)
                result.overlaps.push(`${name(w).slice(0, 60)} #${wi}: ${name(a)} and ${name(b)} overlap by ${Math.round(dx)}x${Math.round(dy)}px`);
        }
    });
    return result;
}"""


def slug(path):
    return path.strip("/").replace("/", "-").replace(".html", "") or "home"


def check_layout(page, where):
    probe = page.evaluate(LAYOUT_PROBE, [WIDGETS, CONTROLS])
    problems = []
    if probe["scrollWidth"] > probe["clientWidth"]:
        problems.append(
            f"the page scrolls sideways: scrollWidth {probe['scrollWidth']} > clientWidth {probe['clientWidth']}; "
            f"elements past the right edge: {probe['widest']}"
        )
    problems += [f"overlapping controls: {o}" for o in probe["overlaps"]]
    problems += [f"control outside the screen: {o}" for o in probe["offscreen"]]
    return [f"{where}: {p}" for p in problems]


@pytest.mark.parametrize("viewport", PHONES, ids=lambda v: f"{v['width']}px")
@pytest.mark.parametrize("site_path", all_pages())
def test_phone_width(guide, site_path, viewport):
    site_page = site_path
    page = guide.page
    page.set_viewport_size(viewport)
    open_page(guide, site_page)
    where = f"{site_page} at {viewport['width']}x{viewport['height']}"
    problems = check_layout(page, where)
    PHONE_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PHONE_SHOTS / f"{slug(site_page)}-{viewport['width']}.png"), full_page=True)
    assert not problems, "\n".join(problems)
    no_page_errors(guide, where)


@pytest.mark.parametrize("path", pages_with_demos())
def test_phone_width_with_demos_open(guide, path):
    viewport = PHONES[0]
    page = guide.page
    page.set_viewport_size(viewport)
    open_page(guide, path)
    opened = open_demos(page)
    page.wait_for_timeout(200)  # let the results settle into their layout
    problems = check_layout(page, f"{path} at {viewport['width']}px after opening {', '.join(opened)}")
    PHONE_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PHONE_SHOTS / f"{slug(path)}-{viewport['width']}-demos-open.png"), full_page=True)
    assert not problems, "\n".join(problems)
    no_page_errors(guide, path)


# ------------------------------------------------------------------------------------
# Weight before interaction


def gzip_size(data):
    import gzip

    return len(gzip.compress(data, compresslevel=6, mtime=0))


WEIGHTS = {}


@pytest.fixture(scope="module")
def weight_table():
    yield WEIGHTS
    if WEIGHTS:
        print(f"\npage weight before interaction (budget {PAGE_BUDGET_KB} KB transferred, gzipped):")
        print(f"  {'page':36} {'requests':>8} {'raw KB':>8} {'gzip KB':>8}  largest")
        for path, (n, raw, gz, top) in sorted(WEIGHTS.items()):
            print(f"  {path:36} {n:8d} {raw / 1024:8.1f} {gz / 1024:8.1f}  {top}")


@pytest.mark.parametrize("site_path", all_pages())
def test_page_weight_before_interaction(browser, base_url, site_path, weight_table):
    """Bytes the browser fetches for a page with an empty cache, until the network is idle."""
    site_page = site_path
    if hasattr(browser, "new_context"):  # a Browser (GUIDE_BROWSER_CACHE=fresh): an empty context
        ctx, own = browser.new_context(), True
        page = ctx.new_page()
    else:  # the shared persistent context: a new page with its HTTP cache switched off
        ctx, own = browser, False
        page = ctx.new_page()
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    responses = []

    def listener(response):
        responses.append(response)

    ctx.on("response", listener)  # context-level: workers' fetches too
    try:
        page.goto(base_url + site_page, wait_until="networkidle")
        page.wait_for_timeout(300)
        rows = []
        for r in responses:
            if not r.url.startswith(base_url):
                continue
            try:
                body = r.body()
            except Exception:  # redirects and aborted requests have no body
                body = b""
            path = urllib.parse.urlsplit(r.url).path
            rows.append((path, len(body), len(body) if path.endswith(NOT_GZIPPED) else gzip_size(body)))
    finally:
        ctx.remove_listener("response", listener)
        page.close()
        if own:
            ctx.close()
    raw, gz = sum(r[1] for r in rows), sum(r[2] for r in rows)
    top = ", ".join(f"{p.rsplit('/', 1)[-1] or p} {b / 1024:.0f}" for p, b, _ in sorted(rows, key=lambda r: -r[1])[:3])
    weight_table[site_page] = (len(rows), raw, gz, top)
    assert gz <= PAGE_BUDGET_KB * 1024, (
        f"{site_page} transfers {gz / 1024:.1f} KB gzipped ({raw / 1024:.1f} KB uncompressed) before any "
        f"interaction, over the {PAGE_BUDGET_KB} KB budget; largest: "
        + ", ".join(f"{p} {b / 1024:.1f} KB" for p, b, _ in sorted(rows, key=lambda r: -r[1])[:6])
    )
