"""The embedding map on the embeddings page, in a real browser.

Contract under test (docs/javascripts/embedding-map.js):

* embedding_map.json is not requested while the map is far below the screen;
  scrolled near, it loads once and draws one marker per point of the file,
  with a legend of every group;
* hovering a point (mouse) shows that token and its five neighbours as the
  file lists them, in order; a click (what a tap produces) picks the nearest
  point; choosing in the list with the keyboard picks that token;
* at 390 px and at 1280 px nothing runs past the screen's right edge;
* axe finds nothing serious or critical in the map with a token picked (light
  and dark); no
  request leaves the site and nothing is logged as an error;
* a missing file ends in a message naming it, with a Retry button.

The name map on the transformer page (the same module, data-file="name_map.json"):

* name_map.json is fetched only when the map comes near the screen, and the
  token map's file is never fetched there; it draws one marker per name, a
  legend of every group, and opens on the last block's view;
* hovering, clicking or choosing a name with the keyboard shows its five
  neighbours as the file lists them; the view switch redraws the points of
  that depth and keeps the picked name;
* it fits 390 px and 1280 px, a tap picks a point, and axe is clean.
"""

import json

import pytest

pytestmark = pytest.mark.browser

PAGE = "/tokens/embeddings/"
MAP = ".embedding-map"
MAP_FILE = "embedding_map.json"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def map_data(site_dir):
    return json.loads((site_dir / "assets" / "model" / MAP_FILE).read_text(encoding="utf-8"))


def map_requests(guide):
    return [u for u in guide.requests if MAP_FILE in u]


def open_map(guide, width=1200):
    page = guide.page
    page.set_viewport_size({"width": width, "height": 800})
    guide.open(PAGE)
    page.locator(MAP).scroll_into_view_if_needed()
    page.wait_for_selector(f"{MAP}[data-state=ready]", timeout=TIMEOUT_MS)
    return page


def point_position(page, token_id):
    """Centre of a point's marker on the screen (viewport coordinates)."""
    box = page.locator(f'{MAP} .emap-points path[data-id="{token_id}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def shown_neighbours(page):
    return [int(i) for i in page.locator(f"{MAP} .emap-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]


def isolated_point(map_data):
    """A point with no other point close to it in PCA units, so a pointer on it is unambiguous."""
    pts = map_data["points"]
    xs = [p["x"] for p in pts]
    span = max(xs) - min(xs)

    def gap(p):
        return min(((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2) ** 0.5 for q in pts if q is not p)

    best = max(pts, key=gap)
    assert gap(best) > span / 60, "no point stands apart enough to aim at"
    return best


def test_the_map_loads_only_when_near_and_draws_every_point(guide, map_data):
    page = guide.page
    page.set_viewport_size({"width": 1200, "height": 800})
    guide.open(PAGE)
    page.wait_for_selector(f"{MAP}[data-state]", timeout=TIMEOUT_MS)  # the module has mounted it
    assert page.locator(MAP).get_attribute("data-state") == "idle"
    page.wait_for_timeout(500)
    assert map_requests(guide) == []  # far below the first screen: nothing fetched
    page.locator(MAP).scroll_into_view_if_needed()
    page.wait_for_selector(f"{MAP}[data-state=ready]", timeout=TIMEOUT_MS)
    assert len(map_requests(guide)) == 1
    assert page.locator(f"{MAP} .emap-points path").count() == len(map_data["points"])
    legend = page.locator(f"{MAP} .emap-legend li").all_text_contents()
    assert [t.strip() for t in legend] == [f"{g['name']} ({g['count']})" for g in map_data["groups"]]
    share = f"{100 * map_data['explained'][0]:.0f}%"
    assert share in page.locator(f"{MAP} .lab-status").text_content()
    guide.assert_no_errors()
    guide.assert_stays_on_site()


def test_hover_click_and_keyboard_show_the_neighbours(guide, map_data):
    page = open_map(guide)
    by_id = {p["id"]: p for p in map_data["points"]}
    target = isolated_point(map_data)
    expected = [j for j, _ in target["neighbours"]]

    page.mouse.move(*point_position(page, target["id"]))  # hover previews
    page.wait_for_function(f"document.querySelector('{MAP} .emap-table')?.dataset.query === '{target['id']}'")
    assert shown_neighbours(page) == expected
    sims = [float(t) for t in page.locator(f"{MAP} .emap-table tbody tr td:nth-child(3)").all_text_contents()]
    assert sims == sorted(sims, reverse=True)
    assert page.locator(MAP).get_attribute("data-selected") in (None, "")  # a hover does not pick

    x, y = point_position(page, target["id"])
    page.mouse.click(x + 3, y + 2)  # near enough, as a finger would be
    assert page.locator(MAP).get_attribute("data-selected") == str(target["id"])
    page.mouse.move(5, 5)  # leaving the map keeps the picked token
    assert shown_neighbours(page) == expected
    on_map = [j for j in expected if j in by_id]
    assert page.locator(f"{MAP} .emap-links line").count() == len(on_map)

    select = page.locator(f"{MAP} .emap-tokens")
    select.focus()
    page.keyboard.press("ArrowDown")
    chosen = int(select.input_value())
    assert page.locator(MAP).get_attribute("data-selected") == str(chosen)
    assert shown_neighbours(page) == [j for j, _ in by_id[chosen]["neighbours"]]
    assert guide.axe_violations(MAP) == []
    page.emulate_media(color_scheme="dark")
    assert guide.axe_violations(MAP) == []
    page.emulate_media(color_scheme="light")
    guide.assert_no_errors()
    guide.assert_stays_on_site()


def test_a_name_shows_its_pieces(guide, map_data):
    page = open_map(guide)
    pieces = map_data["names"]["countries"][0]  # France, as the tokens that spell it
    name = "".join(pieces).strip()
    page.select_option(f"{MAP} .emap-names", label=name)
    assert page.locator(MAP).get_attribute("data-name") == name
    assert page.locator(f"{MAP} .emap-marks .emap-ring").count() == len(pieces)
    assert page.locator(f"{MAP} .emap-pieces li").count() == len(pieces)
    labels = page.locator(f"{MAP} .emap-marks text").all_text_contents()
    assert labels == [f"{k + 1} {t.replace(' ', '␣')}" for k, t in enumerate(pieces)]
    # picking a token afterwards replaces the name
    page.select_option(f"{MAP} .emap-tokens", str(map_data["points"][0]["id"]))
    assert page.locator(MAP).get_attribute("data-name") == ""
    assert page.locator(f"{MAP} .emap-table").count() == 1
    guide.assert_no_errors()


@pytest.mark.parametrize("width", [390, 1280])
def test_fits_the_screen(guide, map_data, width):
    page = open_map(guide, width)
    page.select_option(f"{MAP} .emap-tokens", str(map_data["points"][0]["id"]))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator(f"{MAP} .emap-svg").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    # a tap (a click at 390 px) on a point picks it
    target = isolated_point(map_data)
    page.mouse.click(*point_position(page, target["id"]))
    assert page.locator(MAP).get_attribute("data-selected") == str(target["id"])
    guide.assert_no_errors()


def test_a_missing_file_is_named(guide):
    page = guide.page
    page.route(f"**/{MAP_FILE}*", lambda route: route.fulfill(status=404, body="not here"))
    page.set_viewport_size({"width": 1200, "height": 800})
    guide.open(PAGE)
    page.locator(MAP).scroll_into_view_if_needed()
    page.wait_for_selector(f"{MAP}[data-state=error]", timeout=TIMEOUT_MS)
    assert MAP_FILE in page.locator(f"{MAP} .lab-status").text_content()
    assert page.locator(f"{MAP} .lab-retry").count() == 1
    assert guide.page_errors == []


NAME_PAGE = "/transformer/block/"
NAME_MAP = '.embedding-map[data-file="name_map.json"]'
NAME_FILE = "name_map.json"


@pytest.fixture(scope="module")
def name_data(site_dir):
    return json.loads((site_dir / "assets" / "model" / NAME_FILE).read_text(encoding="utf-8"))


def open_name_map(guide, width=1200):
    page = guide.page
    page.set_viewport_size({"width": width, "height": 800})
    guide.open(NAME_PAGE)
    page.locator(NAME_MAP).scroll_into_view_if_needed()
    page.wait_for_selector(f"{NAME_MAP}[data-state=ready]", timeout=TIMEOUT_MS)
    return page


def shown_names(page):
    return [int(i) for i in page.locator(f"{NAME_MAP} .emap-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]


def name_position(page, name_id):
    box = page.locator(f'{NAME_MAP} .emap-points path[data-id="{name_id}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_the_name_map_loads_only_when_near_and_draws_every_name(guide, name_data):
    page = guide.page
    page.set_viewport_size({"width": 1200, "height": 800})
    guide.open(NAME_PAGE)
    page.wait_for_selector(f"{NAME_MAP}[data-state]", timeout=TIMEOUT_MS)
    assert page.locator(NAME_MAP).get_attribute("data-state") == "idle"
    page.wait_for_timeout(500)
    assert [u for u in guide.requests if NAME_FILE in u] == []
    page.locator(NAME_MAP).scroll_into_view_if_needed()
    page.wait_for_selector(f"{NAME_MAP}[data-state=ready]", timeout=TIMEOUT_MS)
    assert len([u for u in guide.requests if NAME_FILE in u]) == 1
    assert map_requests(guide) == []  # the token map's file is not this map's business
    last = name_data["views"][-1]
    assert page.locator(NAME_MAP).get_attribute("data-layer") == str(last["layer"])
    assert page.locator(f"{NAME_MAP} .emap-points path").count() == len(name_data["tokens"])
    legend = page.locator(f"{NAME_MAP} .emap-legend li").all_text_contents()
    assert [t.strip() for t in legend] == [f"{g['name']} ({g['count']})" for g in name_data["groups"]]
    assert f"{100 * last['explained'][0]:.0f}%" in page.locator(f"{NAME_MAP} .lab-status").text_content()
    assert page.locator(f"{NAME_MAP} .emap-names").count() == 0  # the pieces list is the token map's
    assert page.locator(f"{NAME_MAP} .emap-views input").count() == len(name_data["views"])
    guide.assert_no_errors()
    guide.assert_stays_on_site()


def test_name_map_hover_click_keyboard_and_view_switch(guide, name_data):
    page = open_name_map(guide)
    last = name_data["views"][-1]
    target = isolated_point(last)
    expected = [j for j, _ in target["neighbours"]]
    page.mouse.move(*name_position(page, target["id"]))
    page.wait_for_function(f"document.querySelector('{NAME_MAP} .emap-table')?.dataset.query === '{target['id']}'")
    assert shown_names(page) == expected
    groups = page.locator(f"{NAME_MAP} .emap-table tbody tr td:nth-child(4)").all_text_contents()
    assert groups == [name_data["groups"][last["points"][j]["group"]]["name"] for j in expected]

    x, y = name_position(page, target["id"])
    page.mouse.click(x + 2, y + 2)
    assert page.locator(NAME_MAP).get_attribute("data-selected") == str(target["id"])
    assert page.locator(f"{NAME_MAP} .emap-links line").count() == len(expected)

    # the first view: the same name stays picked, with that depth's neighbours and places
    first = name_data["views"][0]
    page.locator(f"{NAME_MAP} .emap-views input").first.check()
    assert page.locator(NAME_MAP).get_attribute("data-layer") == str(first["layer"])
    assert page.locator(NAME_MAP).get_attribute("data-selected") == str(target["id"])
    assert shown_names(page) == [j for j, _ in first["points"][target["id"]]["neighbours"]]
    assert f"{100 * first['explained'][0]:.0f}%" in page.locator(f"{NAME_MAP} .lab-status").text_content()

    select = page.locator(f"{NAME_MAP} .emap-tokens")
    select.focus()
    page.keyboard.press("ArrowDown")
    chosen = int(select.input_value())
    assert page.locator(NAME_MAP).get_attribute("data-selected") == str(chosen)
    assert page.locator(f"{NAME_MAP} .emap-info strong").text_content() == name_data["tokens"][chosen]
    assert guide.axe_violations(NAME_MAP) == []
    page.emulate_media(color_scheme="dark")
    assert guide.axe_violations(NAME_MAP) == []
    page.emulate_media(color_scheme="light")
    guide.assert_no_errors()
    guide.assert_stays_on_site()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_name_map_fits_the_screen(guide, name_data, width):
    page = open_name_map(guide, width)
    page.select_option(f"{NAME_MAP} .emap-tokens", "0")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator(f"{NAME_MAP} .emap-svg").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    target = isolated_point(name_data["views"][-1])
    page.mouse.click(*name_position(page, target["id"]))
    assert page.locator(NAME_MAP).get_attribute("data-selected") == str(target["id"])
    guide.assert_no_errors()
