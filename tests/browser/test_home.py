"""The home page: the live next-token demo, the journey map, the reading times.

* The demo (docs/javascripts/next-token.js) downloads nothing heavy until the
  reader focuses, types or clicks in it; then it shows the model's most likely
  next tokens as bars (buttons: a click or Enter appends the token). Empty
  text, a text longer than the context window, emoji and a failed download
  behave; axe finds nothing serious in either palette; at 390 px nothing
  scrolls sideways.
* The journey map links every chapter of the nav, in nav order, and its
  reading times are the build's (sitebuild/reading.py), not typed numbers.
* The page's weight before interaction: test_quality.py's budget, for every page.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
import yaml

from model_export.tokenizer import Tokenizer
from sitebuild import reading

ROOT = Path(__file__).resolve().parents[2]
DEMO = ".next-token"
MODEL_TIMEOUT_MS = 120_000  # onnxruntime-web and the model, cold, on a slow machine
# What must not be fetched before the reader touches the demo.
HEAVY = re.compile(r"\.onnx\b|onnxruntime|ort[.-]wasm|tokenizer\.json|report\.json")


# ------------------------------------------------------------------------------------
# Helpers


def nav():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !ENV and friends
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)["nav"]


def page_url(src):
    """The URL path (relative to the site root) of a docs file, as mkdocs builds it."""
    stem = src.rsplit(".", 1)[0]
    parts = stem.split("/")
    if parts[-1] in ("index", "README"):
        parts = parts[:-1]
    return "".join(p + "/" for p in parts)


def js_ids(ids):
    """ids as the widget writes them into data-ids (JSON.stringify: no spaces)."""
    return json.dumps(ids, separators=(",", ":"))


def block_size(site_dir):
    return json.loads((Path(site_dir) / "assets" / "model" / "report.json").read_text())["model"]["block_size"]


def encode(site_dir, text):
    """The Python tokenizer's ids for text, from the tokenizer file the site ships."""
    return Tokenizer.load(Path(site_dir) / "assets" / "model" / "tokenizer.json").encode(text)


def heavy_requests(guide):
    return [u for u in guide.requests if HEAVY.search(urllib.parse.urlsplit(u).path)]


def demo(guide):
    return guide.page.locator(DEMO).first


def wait_bars(guide, after_ids=None):
    """Wait until the demo shows bars for a prediction (other than ``after_ids``, if given)."""
    guide.page.wait_for_function(
        """([root, before]) => root.dataset.state === 'error' || (root.dataset.state === 'ready'
            && root.querySelectorAll('.nt-bar').length > 0 && root.dataset.ids !== undefined
            && root.dataset.ids !== before)""",
        arg=[demo(guide).element_handle(), after_ids], timeout=MODEL_TIMEOUT_MS, polling=50,
    )
    root = demo(guide)
    assert root.get_attribute("data-state") == "ready", root.locator(".nt-status").text_content()
    return json.loads(root.get_attribute("data-ids"))


def open_home(guide, scheme="light"):
    page = guide.page
    page.emulate_media(color_scheme=scheme)
    page.add_init_script(
        "for (const k of Object.keys(localStorage)) if (k.endsWith('__palette')) localStorage.removeItem(k);"
    )
    guide.open("/")
    return page


def type_text(guide, text):
    box = demo(guide).locator("textarea")
    box.fill("")
    box.press_sequentially(text) if text else box.press("Backspace")


# ------------------------------------------------------------------------------------
# Built pages (no browser)


def test_journey_links_every_chapter_in_nav_order(built_site):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((Path(built_site) / "index.html").read_text(encoding="utf-8"), "html.parser")
    linked = [a["href"] for a in soup.select(".journey a[href]")]
    wanted = [page_url(f) for f in reading.nav_files(nav()) if f != "index.md"]
    assert linked == wanted


def test_reading_times_are_the_builds(built_site):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((Path(built_site) / "index.html").read_text(encoding="utf-8"), "html.parser")
    shown = {s["data-part"]: s.get_text() for s in soup.select("span.reading-time")}
    table = reading.part_minutes(nav(), ROOT / "docs")
    parts = [t for entry in nav() for t in entry if t != "Home"]
    assert set(parts) <= set(shown), f"parts without a reading time: {set(parts) - set(shown)}"
    assert shown == {name: str(table[name]) for name in shown}
    assert "{{reading:" not in soup.get_text()


def test_prose_words_leave_out_code_tags_and_diagrams():
    md = ("# Title here\n\nOne two three.\n\n```pycell\nsnippet.py\n```\n\n"
          '<svg viewBox="0 0 1 1"><text>not counted</text></svg>\n\n'
          "A [linked phrase](x.md) and $x^2 + y$ formula.\n")
    # Title here / One two three / A linked phrase and (formula) formula
    assert reading.prose_words(md) == 2 + 3 + 4 + 2


def test_unknown_part_stops_the_build():
    with pytest.raises(ValueError, match="names no top-level part"):
        reading.fill("{{reading: No such part}}", nav(), ROOT / "docs")


# ------------------------------------------------------------------------------------
# The demo, in the browser


@pytest.mark.browser
def test_nothing_heavy_loads_before_interaction(guide):
    page = open_home(guide)
    page.wait_for_timeout(500)
    root = demo(guide)
    assert root.get_attribute("data-state") == "idle"
    assert root.locator(".nt-bar").count() == 0
    assert heavy_requests(guide) == []
    guide.assert_no_errors()


@pytest.mark.browser
def test_typing_shows_bars_and_a_click_appends(guide, site_dir):
    open_home(guide)
    assert heavy_requests(guide) == []
    type_text(guide, "The capital of Spain is")
    ids = wait_bars(guide)
    assert ids == encode(site_dir, "The capital of Spain is")
    assert any(".onnx" in u for u in heavy_requests(guide)), "the model was not downloaded"
    root = demo(guide)
    bars = root.locator(".nt-bar")
    assert bars.count() == 8
    assert "every one of its" in root.locator(".nt-explain").text_content()
    probs = [float(t.rstrip("%").lstrip("<")) for t in bars.locator(".nt-prob").all_text_contents()]
    assert probs == sorted(probs, reverse=True), probs
    # a click on the second bar appends exactly that token
    second = bars.nth(1)
    picked = int(second.get_attribute("data-id"))
    before = root.locator("textarea").input_value()
    second.click()
    after = wait_bars(guide, js_ids(ids))
    assert after == ids + [picked] or (len(ids) + 1 > block_size(site_dir) and after[-1] == picked)
    assert root.locator("textarea").input_value().startswith(before)
    guide.assert_no_errors()
    guide.assert_stays_on_site()


@pytest.mark.browser
def test_keyboard_enter_on_a_bar_appends(guide):
    page = open_home(guide)
    demo(guide).locator(".nt-show").focus()  # focus alone starts the download
    ids = wait_bars(guide)
    bar = demo(guide).locator(".nt-bar:not(.nt-end)").first  # "end of text" is not appended
    picked = int(bar.get_attribute("data-id"))
    bar.focus()
    page.keyboard.press("Enter")
    after = wait_bars(guide, js_ids(ids))
    assert after[-1] == picked
    # focus stays on the bars, so Enter can be pressed again
    assert page.evaluate("() => document.activeElement.classList.contains('nt-bar')")
    guide.assert_no_errors()


@pytest.mark.browser
def test_empty_long_and_emoji_text(guide, site_dir):
    open_home(guide)
    root = demo(guide)
    window = block_size(site_dir)

    type_text(guide, "")
    ids = wait_bars(guide)
    assert len(ids) == 1, "an empty text is read as the end-of-text token alone"
    assert "no text" in root.locator(".nt-context").text_content()

    root.locator("textarea").fill("The capital of France is Paris. " * 60)
    ids = wait_bars(guide, js_ids(ids))
    assert ids == encode(site_dir, "The capital of France is Paris. " * 60)[-window:]
    notice = root.locator(".nt-truncated")
    assert notice.is_visible()
    assert str(window) in notice.text_content()

    root.locator("textarea").fill("I like 🍕 and 🌍")
    ids = wait_bars(guide, js_ids(ids))
    assert ids == encode(site_dir, "I like 🍕 and 🌍")
    assert root.locator(".nt-bytes").is_visible()  # the chips' <0xF0> pieces are explained
    assert root.locator(".nt-truncated").count() == 0
    assert root.locator(".nt-bar").count() == 8
    guide.assert_no_errors()


@pytest.mark.browser
def test_reset_restores_the_prompt(guide):
    open_home(guide)
    root = demo(guide)
    default = root.get_attribute("data-prompt")
    type_text(guide, "Lionel Messi")
    ids = wait_bars(guide)
    root.locator(".nt-reset").click()
    wait_bars(guide, js_ids(ids))
    assert root.locator("textarea").input_value() == default


@pytest.mark.browser
def test_a_failed_download_says_which_file_and_a_retry_works(guide):
    page = guide.page
    page.route(re.compile(r".*/model\.onnx(\?.*)?$"), lambda route: route.fulfill(status=404, body="gone"))
    open_home(guide)
    root = demo(guide)
    root.locator(".nt-show").click()
    page.wait_for_function("r => r.dataset.state === 'error'", arg=root.element_handle(), timeout=MODEL_TIMEOUT_MS)
    status = root.locator(".nt-status").text_content()
    assert "model.onnx" in status, status
    assert guide.page_errors == []
    page.unroute(re.compile(r".*/model\.onnx(\?.*)?$"))
    root.locator(".nt-show").click()
    wait_bars(guide)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ("light", "dark"))
def test_axe_with_the_demo_open(guide, scheme):
    open_home(guide, scheme)
    assert guide.axe_violations("article") == []
    type_text(guide, "The capital of Italy is")
    wait_bars(guide)
    assert guide.axe_violations("article") == []
    guide.assert_no_errors()


@pytest.mark.browser
def test_phone_width_with_the_demo_open(guide):
    page = guide.page
    page.set_viewport_size({"width": 390, "height": 844})
    open_home(guide)
    type_text(guide, "Weather bulletin for Paris.")
    wait_bars(guide)
    page.wait_for_timeout(200)
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the home page scrolls sideways at 390 px: {width}"
    outside = page.evaluate("""() => Array.from(document.querySelectorAll('.next-token button, .next-token textarea,'
        + ' .journey a')).map(e => e.getBoundingClientRect()).filter(r => r.left < 0 || r.right > innerWidth + 1).length""")
    assert outside == 0
