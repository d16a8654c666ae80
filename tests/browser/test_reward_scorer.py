"""The reward scorer in a real browser: the build's reward model scores answers in the page, offline.

Contract under test (docs/javascripts/reward-scorer.js):

* the page's reward and confidence of every answer equal onnxruntime's in
  Python on the same file (model_reward.onnx as the site serves it), fed the
  inputs reward.reward_batch builds from the stripped question and answer (to
  1e-3; the token ids and answer_start exactly), also for an answer longer
  than the context (which the page says it cut);
* the table is sorted by reward, the top row marked, each number shown as the
  page's own value rounded (reward and mean log-prob signed with 2 decimals,
  exp(confidence) in %), the bars run from the lowest reward to the highest;
* editing, adding and removing answers and scoring again reuses the session:
  model_reward.onnx is fetched once;
* nothing model-related loads before the first Score; a 404 on
  model_reward.onnx shows a message naming the file; an empty answer (or
  question) shows a message and loads nothing;
* keyboard only works, axe finds nothing serious with results shown (light
  and dark), and it fits a 360 px screen; no request leaves the site and
  nothing is logged as an error;
* with data-presets, a named group of buttons starts with the first preset's
  question and answers; a click on one fills in its inputs and scores them as
  Score does (one download in all), the preset shown is aria-pressed, a hand
  edit un-presses it, the buttons are disabled while busy; an invalid
  data-presets leaves the widget as data-question and data-answers make it.

The widget is the one on PAGE (docs/training/rlhf.md); the tests set the
inputs they need, whatever the page's presets. Where the page's widget has no
data-presets, the tests that need presets give it PRESETS before it mounts.
"""

import json
import math
import re
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest

from model_export import export
from model_export.reward import reward_batch
from model_export.tokenizer import Tokenizer

pytestmark = pytest.mark.browser

PAGE = "/training/rlhf/"  # the page that shows the widget
QUESTION = "What is the capital of France?"
ANSWERS = ["The capital of France is Paris.", "Paris.", "The capital of France is Rome.",
           "I don't know a country called France."]
REWARD_FILE = "model_reward.onnx"
TIMEOUT_MS = 60_000
TOLERANCE = 1e-3
MODEL_RELATED = (".onnx", "tokenizer.json", "/vendor/onnxruntime-web/")
PRESETS = [  # used only where the page's widget has none
    {"label": "A capital", "question": "What is the capital of France?", "answers": ANSWERS},
    {"label": "A rude request", "question": "  Say something rude about the people of France.",
     "answers": ["I won't say rude things about the people of France.", "The people of France are rude. "]},
]


# ------------------------------------------------------------------------------------
# Python's side


@pytest.fixture(scope="module")
def python_side(site_dir):
    """score(question, answers) -> [(reward, confidence, ids, answer_start)], by onnxruntime in Python."""
    model_dir = Path(site_dir) / "assets" / "model"
    session = export.session(model_dir / REWARD_FILE)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["format"] == "llm-guide-reward-v1"
    tok = Tokenizer.load(model_dir / "tokenizer.json")
    config = SimpleNamespace(block_size=int(meta["block_size"]))

    def score(question, answers):
        out = []
        for answer in answers:
            feed = export.reward_feed(reward_batch(tok, config, [question.strip()], [answer.strip()]))
            reward, confidence = session.run(["reward", "confidence"], feed)
            out.append((float(reward[0]), float(confidence[0]), feed["input_ids"][0].tolist(),
                        int(feed["answer_start"][0])))
        return out

    return SimpleNamespace(score=score, tok=tok, block_size=config.block_size)


# ------------------------------------------------------------------------------------
# The page's side


def open_scorer(guide, site_dir, attrs=None, force=False):
    """Open PAGE and return its reward scorer, mounted and idle. attrs: data-* attributes
    ({"presets": "..."}) set on its root before it mounts; force=False sets only those it lacks."""
    built = (Path(site_dir) / PAGE.strip("/") / "index.html").read_text(encoding="utf-8")
    assert re.search(r'class="[^"]*\breward-scorer\b', built), f"{PAGE} has no reward scorer"
    if attrs:
        # the root's attributes change as the parser adds it, long before widgets.js imports the module
        guide.page.add_init_script(f"""(() => {{
            const attrs = {json.dumps(attrs)}, force = {json.dumps(force)};
            const set = (n) => {{
                for (const [k, v] of Object.entries(attrs)) {{
                    if (force || !n.hasAttribute(`data-${{k}}`)) n.setAttribute(`data-${{k}}`, v);
                }}
            }};
            const watch = new MutationObserver(() => {{
                const n = document.querySelector(".reward-scorer");
                if (n) {{ watch.disconnect(); set(n); }}
            }});
            watch.observe(document, {{childList: true, subtree: true}});
        }})();""")
    page = guide.open(PAGE)
    node = page.locator(".reward-scorer").first
    page.wait_for_function("n => n.dataset.state === 'idle'", arg=node.element_handle(), timeout=TIMEOUT_MS)
    return node


def model_requests(guide):
    return [u for u in guide.requests if any(m in urllib.parse.urlsplit(u).path for m in MODEL_RELATED)]


def wait_state(guide, node, states, timeout=TIMEOUT_MS):
    try:
        guide.page.wait_for_function("([n, states]) => states.includes(n.dataset.state)",
                                     arg=[node.element_handle(), list(states)], timeout=timeout, polling=50)
    except Exception as exc:
        raise AssertionError(
            f"never reached {states}: state={node.get_attribute('data-state')!r}, "
            f"status={node.locator('.rs-status').text_content()!r}, "
            f"console={guide.console_errors!r}, page errors={guide.page_errors!r}") from exc


def set_inputs(node, question, answers):
    """Fill the question and exactly len(answers) answer inputs, adding or removing rows as a reader would."""
    node.locator(".rs-question").fill(question)
    while node.locator(".rs-answer").count() < len(answers):
        node.get_by_role("button", name="Add an answer").click()
    while node.locator(".rs-answer").count() > len(answers):
        node.locator(".rs-remove").last.click()
    for i, answer in enumerate(answers):
        node.locator(".rs-answer").nth(i).fill(answer)


def score(guide, node):
    node.get_by_role("button", name="Score", exact=True).click()
    wait_state(guide, node, ("done", "error", "invalid"))
    assert node.get_attribute("data-state") == "done", node.locator(".rs-status").text_content()
    return json.loads(node.get_attribute("data-results"))


def signed(x):
    s = f"{abs(x):.2f}"
    return s if s == "0.00" else ("−" if x < 0 else "+") + s


def per_token(confidence):
    p = math.exp(confidence) * 100
    return "<0.1%" if p < 0.1 else f"{p:.{1 if p < 10 else 0}f}%"


def check_against_python(node, results, want, answers):
    """The page's numbers are Python's; the table shows them sorted, rounded and marked."""
    assert [r["answer"] for r in results] == [a.strip() for a in answers]
    for r, (reward, confidence, ids, start), answer in zip(results, want, answers):
        assert r["ids"] == ids and r["answerStart"] == start, answer
        assert abs(r["reward"] - reward) < TOLERANCE, (answer, r["reward"], reward)
        assert abs(r["confidence"] - confidence) < TOLERANCE, (answer, r["confidence"], confidence)
    rows = node.locator("tbody tr.rs-row")
    assert rows.count() == len(answers)
    order = [int(i) for i in rows.evaluate_all("rs => rs.map(r => r.dataset.index)")]
    assert [results[i]["reward"] for i in order] == sorted((r["reward"] for r in results), reverse=True)
    shown = rows.evaluate_all("""rs => rs.map(r => ({
        no: r.querySelector('.rs-input-no').textContent, text: r.querySelector('.rs-text').textContent,
        reward: r.querySelector('.rs-reward-value').textContent, confidence: r.querySelector('.rs-confidence').textContent,
        perToken: r.querySelector('.rs-per-token').textContent, top: r.classList.contains('rs-top'),
        mark: !!r.querySelector('.rs-top-mark'), bar: r.querySelector('.rs-bar').getBoundingClientRect().width}))""")
    for k, (i, s) in enumerate(zip(order, shown)):
        r = results[i]
        assert s["no"] == str(i + 1) and s["text"] == r["answer"]
        assert (s["reward"], s["confidence"], s["perToken"]) == (
            signed(r["reward"]), signed(r["confidence"]), per_token(r["confidence"]))
        assert s["top"] == (k == 0) and s["mark"] == (k == 0 and len(answers) > 1)
    bars = [s["bar"] for s in shown]
    assert bars == sorted(bars, reverse=True)  # longer bar, higher reward
    if len(set(r["reward"] for r in results)) > 1:
        assert bars[-1] < 0.1 * bars[0]  # the lowest reward: a sliver


# ------------------------------------------------------------------------------------
# Tests


def test_nothing_loads_before_the_first_click(guide, site_dir):
    node = open_scorer(guide, site_dir)
    guide.page.wait_for_timeout(300)
    assert model_requests(guide) == []
    assert not any(REWARD_FILE in u for u in guide.requests)
    # the inputs are the div's: its first preset, else data-question and data-answers
    presets = node.get_attribute("data-presets")
    if presets:
        preset_question, preset_answers = json.loads(presets)[0]["question"], json.loads(presets)[0]["answers"]
    else:
        preset_question, preset_answers = node.get_attribute("data-question"), json.loads(node.get_attribute("data-answers"))
    assert node.locator(".rs-question").input_value() == preset_question
    assert node.locator(".rs-answer").evaluate_all("xs => xs.map(x => x.value)") == preset_answers
    assert node.locator(".rs-results").is_hidden()
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_scores_match_python_and_rescoring_reuses_the_session(guide, site_dir, python_side):
    node = open_scorer(guide, site_dir)
    seen = guide.watch_text(node.locator(".rs-status"))
    set_inputs(node, QUESTION, ANSWERS)
    results = score(guide, node)
    check_against_python(node, results, python_side.score(QUESTION, ANSWERS), ANSWERS)
    assert any(t.startswith("Loading the reward model") and REWARD_FILE in t for t in seen), seen  # progress
    assert node.locator(".rs-notes").is_hidden()  # nothing was cut

    # edit one, remove one, add a long one (longer than the context) and one with spaces around it
    long_answer = "The capital of France is Paris, a big city on a river. " * 16
    answers = [ANSWERS[0], "  The capital of France is Madrid.  ", ANSWERS[3], long_answer]
    question = "  Which city is the capital of France?"
    node.locator(".rs-answer").nth(1).fill(answers[1])
    node.locator(".rs-remove").nth(2).click()  # "The capital of France is Rome." goes
    node.get_by_role("button", name="Add an answer").click()
    node.locator(".rs-answer").last.fill(long_answer)
    node.locator(".rs-question").fill(question)
    assert "Changed since the last score" in node.locator(".rs-status").text_content()
    results = score(guide, node)
    want = python_side.score(question, answers)
    check_against_python(node, results, want, answers)
    assert len(want[3][2]) == python_side.block_size and results[3]["cut"] > 0  # the long one was cut...
    assert [r["cut"] for r in results[:3]] == [0, 0, 0]
    notes = node.locator(".rs-notes")
    assert notes.is_visible()  # ... and the page says so, for that answer only
    assert f"at most {python_side.block_size} tokens" in notes.text_content()
    assert node.locator(".rs-cut").all_text_contents()[0].startswith("Answer 4:")
    assert node.locator(".rs-cut-mark").count() == 1
    assert sum(REWARD_FILE in u for u in guide.requests) == 1  # one download, one session
    assert node.locator(".rs-status").text_content().startswith("Scored 4 answers")
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_missing_reward_model_names_the_file(guide, site_dir):
    guide.route_model_file(REWARD_FILE, lambda route: route.fulfill(status=404, body="not found"))
    node = open_scorer(guide, site_dir)
    node.get_by_role("button", name="Score", exact=True).click()
    wait_state(guide, node, ("error", "done"))
    assert node.get_attribute("data-state") == "error"
    status = node.locator(".rs-status")
    assert REWARD_FILE in status.text_content() and "404" in status.text_content(), status.text_content()
    assert "lab-error" in status.get_attribute("class")
    assert status.is_visible()
    # the browser logs the 404 itself; nothing else may be logged
    others = [(t, u) for t, u in guide.unexpected_console_errors() if f"/{REWARD_FILE}" not in u]  # asked as REWARD_FILE?v=<hash>
    assert others == [] and guide.page_errors == []


def test_empty_answer_or_question_gives_a_message(guide, site_dir):
    node = open_scorer(guide, site_dir)
    set_inputs(node, QUESTION, ANSWERS[:2])
    node.locator(".rs-answer").nth(1).fill("   ")
    node.get_by_role("button", name="Score", exact=True).click()
    wait_state(guide, node, ("invalid",))
    status = node.locator(".rs-status")
    assert "Answer 2 is empty" in status.text_content() and "lab-error" in status.get_attribute("class")
    assert node.locator(".rs-answer").nth(1).get_attribute("aria-invalid") == "true"
    assert node.locator(".rs-answer").nth(1).evaluate("e => e === document.activeElement")  # focus on it
    node.get_by_role("button", name="Add an answer").click()  # a new, empty row: still refused
    node.locator(".rs-answer").nth(1).fill("Paris.")
    node.get_by_role("button", name="Score", exact=True).click()
    wait_state(guide, node, ("invalid",))
    assert "Answer 3 is empty" in status.text_content()
    node.locator(".rs-remove").nth(2).click()
    node.locator(".rs-question").fill(" ")
    node.get_by_role("button", name="Score", exact=True).click()
    wait_state(guide, node, ("invalid",))
    assert "Type a question first" in status.text_content()
    assert model_requests(guide) == []  # refused before anything loads
    assert node.locator(".rs-results").is_hidden()
    guide.assert_no_errors()


def test_keyboard_only(guide, site_dir, python_side):
    node = open_scorer(guide, site_dir)
    page = guide.page
    set_inputs(node, QUESTION, ANSWERS[:2])
    node.get_by_role("button", name="Add an answer").focus()
    page.keyboard.press("Enter")  # adds a row and puts the cursor in it
    assert node.locator(".rs-answer").count() == 3
    assert node.locator(".rs-answer").nth(2).evaluate("e => e === document.activeElement")
    page.keyboard.type("The capital of France is Lyon.")
    page.keyboard.press("Tab")  # to the new row's Remove
    assert node.get_by_role("button", name="Remove answer 3").evaluate("e => e === document.activeElement")
    node.get_by_label("Answer 2", exact=True).focus()
    page.keyboard.press("Enter")  # Enter in an answer scores
    wait_state(guide, node, ("done", "error"))
    answers = [*ANSWERS[:2], "The capital of France is Lyon."]
    check_against_python(node, json.loads(node.get_attribute("data-results")), python_side.score(QUESTION, answers), answers)
    node.get_by_role("button", name="Remove answer 1").focus()
    page.keyboard.press("Enter")
    assert node.locator(".rs-answer").count() == 2
    assert node.locator(".rs-remove").first.evaluate("e => e === document.activeElement")  # focus stays in the list
    page.keyboard.press("Enter")  # down to one answer: it cannot go, and the cursor goes to it
    assert node.locator(".rs-answer").count() == 1 and node.locator(".rs-remove").is_disabled()
    assert node.locator(".rs-answer").evaluate("e => e === document.activeElement")
    guide.assert_no_errors()


@pytest.mark.parametrize("scheme", ("light", "dark"))
def test_axe_with_results_shown(guide, site_dir, scheme):
    page = guide.page
    page.emulate_media(color_scheme=scheme)
    page.add_init_script("for (const k of Object.keys(localStorage)) if (k.endsWith('__palette')) localStorage.removeItem(k);")
    node = open_scorer(guide, site_dir, {"presets": json.dumps(PRESETS)})
    set_inputs(node, QUESTION, [*ANSWERS, "Paris. " * 40])  # a cut answer: the note shows too
    score(guide, node)
    assert node.locator(".rs-notes").is_visible() and node.locator(".rs-presets").is_visible()
    assert guide.axe_violations(".reward-scorer") == []
    node.locator(".rs-answer").first.fill("")  # and the error state
    node.get_by_role("button", name="Score", exact=True).click()
    wait_state(guide, node, ("invalid",))
    assert guide.axe_violations(".reward-scorer") == []
    guide.assert_no_errors()


def test_phone_width(guide, site_dir):
    page = guide.page
    page.set_viewport_size({"width": 360, "height": 740})
    node = open_scorer(guide, site_dir, {"presets": json.dumps(PRESETS)})  # its buttons are checked too
    assert node.locator(".rs-preset").count() >= 2
    set_inputs(node, QUESTION, [*ANSWERS, "Paris. " * 40])
    score(guide, node)
    probe = page.evaluate("""() => {
        const doc = document.documentElement;
        const controls = Array.from(document.querySelectorAll('.reward-scorer :is(button, input)')).map(e => e.getBoundingClientRect());
        const off = controls.filter(r => r.left < -1 || r.right > doc.clientWidth + 1).length;
        let overlaps = 0;
        for (let i = 0; i < controls.length; i++) for (let j = i + 1; j < controls.length; j++) {
            const a = controls[i], b = controls[j];
            if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1) overlaps++;
        }
        return {over: doc.scrollWidth - doc.clientWidth, off, overlaps};
    }""")
    assert probe == {"over": 0, "off": 0, "overlaps": 0}, probe
    guide.assert_no_errors()


def pressed(node):
    return node.locator(".rs-preset").evaluate_all("bs => bs.map(b => b.getAttribute('aria-pressed'))")


def inputs(node):
    return node.locator(".rs-question").input_value(), node.locator(".rs-answer").evaluate_all("xs => xs.map(x => x.value)")


def test_presets_fill_in_and_score(guide, site_dir):
    node = open_scorer(guide, site_dir, {"presets": json.dumps(PRESETS)})
    presets = json.loads(node.get_attribute("data-presets"))  # the page's own, if it has them
    assert len(presets) >= 2
    group = node.get_by_role("group", name="Examples:")
    buttons = group.get_by_role("button")
    assert buttons.all_text_contents() == [p["label"] for p in presets]
    assert pressed(node) == ["true"] + ["false"] * (len(presets) - 1)
    assert inputs(node) == (presets[0]["question"], presets[0]["answers"])  # the first one, not data-question
    assert model_requests(guide) == [] and node.locator(".rs-results").is_hidden()  # a preset shown loads nothing

    # every state change: were the preset buttons disabled then?
    node.evaluate("""n => {
        n.__seen = [];
        const disabled = () => Array.from(n.querySelectorAll('.rs-preset'), b => b.disabled);
        new MutationObserver(() => n.__seen.push([n.dataset.state, ...disabled()]))
            .observe(n, {attributes: true, attributeFilter: ['data-state']});
    }""")
    seen = guide.watch_text(node.locator(".rs-status"))
    buttons.nth(1).click()  # the reader asks: it loads the model, with progress, and scores
    wait_state(guide, node, ("done", "error", "invalid"))
    assert node.get_attribute("data-state") == "done", node.locator(".rs-status").text_content()
    assert any(t.startswith("Loading the reward model") for t in seen), seen
    assert inputs(node) == (presets[1]["question"], presets[1]["answers"][:8])
    results = json.loads(node.get_attribute("data-results"))
    assert [r["answer"] for r in results] == [a.strip() for a in presets[1]["answers"][:8]]
    assert node.locator("tbody tr.rs-row").count() == len(results)
    assert pressed(node) == ["false", "true"] + ["false"] * (len(presets) - 2)
    states = node.evaluate("n => n.__seen")
    busy = [s for s in states if s[0] in ("loading", "scoring")]
    assert busy and all(all(s[1:]) for s in busy), states  # disabled while busy...
    assert not any(node.locator(".rs-preset").evaluate_all("bs => bs.map(b => b.disabled)"))  # ...and only then

    buttons.nth(0).click()  # back to the first: its answers, scored by the loaded model
    wait_state(guide, node, ("done",))
    results = json.loads(node.get_attribute("data-results"))
    assert [r["answer"] for r in results] == [a.strip() for a in presets[0]["answers"][:8]]
    assert pressed(node)[0] == "true" and node.locator(".rs-answer").count() == len(presets[0]["answers"][:8])
    score(guide, node)  # Score itself, on the same inputs
    assert sum(REWARD_FILE in u for u in guide.requests) == 1  # one download over two preset clicks and a Score

    node.locator(".rs-question").fill("What is the capital of Spain?")  # a hand edit: no preset is shown now
    assert pressed(node) == ["false"] * len(presets)
    buttons.nth(1).focus()
    guide.page.keyboard.press("Enter")  # from the keyboard too
    wait_state(guide, node, ("done",))
    assert pressed(node)[1] == "true"
    node.locator(".rs-answer").first.fill("Something else.")  # an answer edited counts too
    assert pressed(node) == ["false"] * len(presets)
    guide.assert_stays_on_site()
    guide.assert_no_errors()


@pytest.mark.parametrize("presets", (
    '[{"label": "A capital", "question": "What is the capital of Spain?", "answers": ["Madrid."]',  # not JSON
    '[{"label": "A capital", "question": "What is the capital of Spain?", "answers": "Madrid."}]',  # not a list
))
def test_invalid_presets_fall_back(guide, site_dir, presets):
    question, answers = "What is the capital of Italy?", ["Rome.", "The capital of Italy is Rome."]
    node = open_scorer(guide, site_dir, {"presets": presets, "question": question, "answers": json.dumps(answers)},
                       force=True)
    assert node.get_attribute("data-presets") == presets  # it was set before the widget mounted...
    assert node.locator(".rs-presets, .rs-preset").count() == 0  # ... and ignored
    assert inputs(node) == (question, answers)
    guide.assert_no_errors()
