"""The agents chapter in a real browser: the schema playground running the smoke model, offline.

Contract under test (docs/javascripts/schema-playground.js, docs/agents/):

* with the constraint on, every output parses and validates, at any
  temperature and seed and for every preset schema (the tool-call schema too);
  this is checked in the page (data-valid) and again here in Python with
  model_export.schema.validate on the text the page produced;
* greedy constrained output is token for token what model_export.constrain's
  decoder and the shipped ONNX model give in Python;
* each step shows how many tokens the mask allowed; the ms per step with and
  without the constraint are both shown after one run of each;
* without the constraint the verdict is honest: it says "parses" exactly when
  json.loads accepts the text, and "matches" exactly when it validates;
* an invalid schema (bad JSON, unsupported schema, a budget too small) shows
  a clear message and downloads nothing;
* opening the pages downloads nothing model-related; no request leaves the
  site; nothing is logged as an error; keyboard and phone width work.
"""

import json
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from model_export import constrain
from model_export.agent import TOOL_SCHEMA
from model_export.grammar import compile_schema
from model_export.schema import validate
from model_export.tokenizer import Tokenizer

pytestmark = pytest.mark.browser

AGENTS = "/agents/"
CONSTRAINED = "/agents/constrained-output/"
PAGES = [AGENTS, CONSTRAINED]
LOAD_TIMEOUT_MS = 60_000
GUIDE_SCHEMA = {"name": "string", "age": "integer"}
PRESET_SCHEMAS = {"0": GUIDE_SCHEMA, "1": TOOL_SCHEMA}

TIME = r"(\d+\.\d+|<0\.01) ms"  # a time as the page writes it
MODEL_RELATED = (".onnx", "tokenizer.json", "/vendor/onnxruntime-web/", "ort-wasm", "ort.wasm")


def model_related(urls):
    return [u for u in urls if any(m in urllib.parse.urlsplit(u).path for m in MODEL_RELATED)]


def playground(page):
    return page.locator(".schema-playground")




def wait_state(guide, node, states, timeout=LOAD_TIMEOUT_MS):
    try:
        guide.page.wait_for_function(
            "([n, states]) => states.includes(n.dataset.state)",
            arg=[node.element_handle(), list(states)], timeout=timeout, polling=50,
        )
    except Exception as exc:
        raise AssertionError(
            f"never reached {states}: state={node.get_attribute('data-state')!r}, "
            f"status={node.locator('.sp-status').text_content()!r}, "
            f"console={guide.console_errors!r}, page errors={guide.page_errors!r}"
        ) from exc


def set_controls(node, preset=None, schema=None, prompt=None, temperature=None, seed=None, max_tokens=None):
    if preset is not None:
        node.locator(".sp-preset").select_option(preset)
    if schema is not None:
        node.locator(".sp-schema").fill(schema)
    if prompt is not None:
        node.locator(".sp-prompt").fill(prompt)
    for cls, value in ((".sp-temperature", temperature), (".sp-seed", seed), (".sp-max-tokens", max_tokens)):
        if value is not None:
            node.locator(cls).fill(str(value))


def generate(guide, node, constrained=True):
    node.locator(".sp-constrained" if constrained else ".sp-free").click()
    wait_state(guide, node, ("done", "error"))
    assert node.get_attribute("data-state") == "done", node.locator(".sp-status").text_content()
    return {
        "text": node.get_attribute("data-text"),
        "parses": node.get_attribute("data-parses"),
        "valid": node.get_attribute("data-valid"),
        "allowed": json.loads(node.get_attribute("data-allowed")),
        "verdict": node.locator(".sp-verdict").text_content(),
    }


@pytest.fixture(scope="module")
def model_dir(site_dir):
    return Path(site_dir) / "assets" / "model"


def test_agents_pages_exist(site_pages):
    assert set(PAGES) <= set(site_pages)


@pytest.mark.parametrize("path", PAGES)
def test_nothing_model_related_loads_before_the_first_click(guide, path):
    page = guide.open(path)
    page.wait_for_timeout(300)
    if path == CONSTRAINED:
        assert playground(page).get_attribute("data-state") == "idle"  # mounted
    assert model_related(guide.requests) == []
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_constrained_output_always_parses_and_validates(guide, model_dir):
    page = guide.open(CONSTRAINED)
    node = playground(page)
    vocab = json.loads((model_dir / "report.json").read_text())["model"]["vocab_size"]
    runs = [("0", 0.7, 1), ("0", 0.9, 2), ("0", 1.1, 3), ("0", 1.3, 4), ("0", 1.5, 5),
            ("1", 0.8, 6), ("1", 1.5, 7), ("2", 1.2, 8)]
    for preset, temperature, seed in runs:
        set_controls(node, preset=preset, temperature=temperature, seed=seed, max_tokens=48)
        schema = json.loads(node.locator(".sp-schema").input_value())
        if preset in PRESET_SCHEMAS:
            assert schema == PRESET_SCHEMAS[preset]  # the page's presets are the guide's and the agent's schemas
        out = generate(guide, node)
        what = f"preset {preset}, T={temperature}, seed {seed}: {out}"
        assert out["parses"] == "true" and out["valid"] == "true", what
        assert validate(json.loads(out["text"]), schema) == [], what  # checked again, in Python
        assert out["verdict"].startswith("✓"), what
        # one count per step (the last step chose end-of-text), each shown under its token
        chips = node.locator(".sp-token")
        assert chips.count() == len(out["allowed"]) and chips.last.locator(".sp-piece").text_content() == "end-of-text"
        assert all(1 <= a <= vocab for a in out["allowed"]), what
        assert chips.first.locator(".sp-count").text_content() == f"{out['allowed'][0]} of {vocab}"
        assert min(out["allowed"]) < vocab  # the mask did mask something
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_greedy_constrained_output_matches_python(guide, model_dir):
    """The page's decoder + model give exactly the ids of constrain.py + onnxruntime in Python."""
    ort = pytest.importorskip("onnxruntime")
    page = guide.open(CONSTRAINED)
    node = playground(page)
    session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    n_layer, _, _, n_head, _, head_dim = session.get_inputs()[1].shape
    tok = Tokenizer.load(model_dir / "tokenizer.json")
    prompt = "Lionel Messi is"
    for preset, schema in PRESET_SCHEMAS.items():
        set_controls(node, preset=preset, prompt=prompt, temperature=0, max_tokens=48)
        out = generate(guide, node)
        decoder = constrain.ConstrainedDecoder(compile_schema(schema), tok)
        cache = {"past": np.zeros((n_layer, 2, 1, n_head, 0, head_dim), np.float32), "n": 0}

        def logits_fn(ids):
            new = tok.encode(prompt) if cache["n"] == 0 else ids[-1:]
            logits, cache["past"] = session.run(["logits", "present_key_values"], {
                "input_ids": np.array([new], np.int64), "past_key_values": cache["past"]})
            cache["n"] += len(new)
            return logits[0, -1]

        want = constrain.generate(logits_fn, decoder, np.random.default_rng(0), temperature=0.0, max_tokens=48)
        assert out["text"] == want["text"], f"preset {preset}: page {out['text']!r} vs Python {want['text']!r}"
    guide.assert_no_errors()


def test_both_timings_are_shown_and_unconstrained_is_reported_honestly(guide):
    page = guide.open(CONSTRAINED)
    node = playground(page)
    assert "not run yet" in node.locator(".sp-ms-constrained").text_content()
    set_controls(node, temperature=0, max_tokens=40)
    constrained = generate(guide, node, constrained=True)
    assert constrained["valid"] == "true"
    for temperature, seed in ((0, 1), (1.0, 2), (1.5, 3)):
        set_controls(node, temperature=temperature, seed=seed)
        out = generate(guide, node, constrained=False)
        try:
            value = json.loads(out["text"])
            parses, valid = True, validate(value, GUIDE_SCHEMA) == []
        except ValueError:
            parses, valid = False, False
        assert out["parses"] == str(parses).lower() and out["valid"] == str(valid).lower(), out
        assert out["verdict"].startswith("✓" if valid else "✗"), out
        if not parses:
            assert "Does not parse as JSON" in out["verdict"]
        assert all(a == out["allowed"][0] for a in out["allowed"])  # no mask: every step allows the whole vocabulary
        assert node.locator(".sp-token .sp-count").first.text_content().startswith("all ")
    for mode in ("constrained", "free"):
        cell = node.locator(f".sp-ms-{mode}").text_content()
        assert re.match(r"\d+\.\d+ ms \(model {T} \+ (mask {T} \+ )?choosing {T}; mean of \d+ steps?\)$".replace("{T}", TIME), cell), cell
        assert float(node.get_attribute(f"data-ms-{mode}")) > 0, mode
    assert " + mask " in node.locator(".sp-ms-constrained").text_content()
    assert " + mask " not in node.locator(".sp-ms-free").text_content()
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_invalid_schemas_show_a_message_and_load_nothing(guide):
    page = guide.open(CONSTRAINED)
    node = playground(page)
    status = node.locator(".sp-schema-status")
    assert status.text_content().startswith("Schema OK")
    cases = [
        ('{"name": "string", "age": "integer"', "not valid JSON"),
        ('{"name": "strin"}', "cannot be used"),
        ('{"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}}', "unsupported keyword"),
    ]
    for text, message in cases:
        set_controls(node, schema=text)
        page.wait_for_function("([n, m]) => n.dataset.state === 'schema-error' && n.querySelector('.sp-schema-status').textContent.includes(m)",
                               arg=[node.element_handle(), message], timeout=5_000)
        assert "lab-error" in status.get_attribute("class")
        assert node.locator(".sp-preset").input_value() == "custom"
        node.locator(".sp-constrained").click()
        assert "Fix the schema" in node.locator(".sp-status").text_content()
        assert node.get_attribute("data-state") == "schema-error"
    assert model_related(guide.requests) == []  # nothing downloaded for a schema that cannot run
    set_controls(node, schema='{"name": "string"}')
    page.wait_for_function("n => n.dataset.state === 'idle'", arg=node.element_handle(), timeout=5_000)
    assert status.text_content().startswith("Schema OK")
    # a budget smaller than the shortest document: said clearly, nothing generated
    set_controls(node, preset="1", max_tokens=5)
    node.locator(".sp-constrained").click()
    wait_state(guide, node, ("done", "error"))
    assert node.get_attribute("data-state") == "error"
    assert "raise Max tokens" in node.locator(".sp-status").text_content()
    guide.assert_no_errors()


def test_model_loads_on_first_click_with_progress(guide):
    page = guide.open(CONSTRAINED)
    node = playground(page)
    seen = guide.watch_text(node.locator(".sp-status"))
    generate(guide, node)
    assert any(t.startswith("Loading the model") for t in seen), seen
    assert model_related(guide.requests) != []
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_keyboard_only(guide):
    page = guide.open(CONSTRAINED)
    node = playground(page)
    node.locator(".sp-prompt").focus()
    page.keyboard.press("End")
    page.keyboard.press("ControlOrMeta+Enter")  # Ctrl+Enter: generate with the constraint
    wait_state(guide, node, ("done", "error"))
    assert node.get_attribute("data-state") == "done" and node.get_attribute("data-mode") == "constrained"
    node.locator(".sp-free").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("n => n.dataset.mode === 'free' && n.dataset.state === 'done'", arg=node.element_handle(),
                           timeout=LOAD_TIMEOUT_MS)
    node.locator(".sp-preset").focus()
    page.keyboard.press("ArrowDown")  # a native select: the arrow picks the next preset
    assert json.loads(node.locator(".sp-schema").input_value()) == TOOL_SCHEMA
    guide.assert_no_errors()


@pytest.mark.parametrize("path", PAGES)
def test_phone_width_has_no_horizontal_scroll(guide, path):
    page = guide.page
    page.set_viewport_size({"width": 360, "height": 740})
    guide.open(path)
    if path == CONSTRAINED:
        node = playground(page)
        set_controls(node, preset="1", temperature=1.2, seed=3)
        generate(guide, node)
        generate(guide, node, constrained=False)
    over = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert over <= 0, f"{path}: the page scrolls sideways by {over}px at phone width"
    guide.assert_no_errors()
