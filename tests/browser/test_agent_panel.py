"""The agent panel in a real browser: the agent checkpoint runs the agent loop in the page, offline.

Contract under test (docs/javascripts/agent-panel.js, docs/agents/index.md):

* the page runs model_export.agent_train.run_question exactly: for the guide's
  Messi question, with the constraint and without, its result (transcript,
  steps, answer, stop reason) equals Python's on the same smoke weights
  (params_agent.npz of the build the site was made from), and so do the
  outputs of every model call;
* a transcript longer than the context stops the loop with exactly Python's
  "stopped: the transcript is longer than the N-token context";
* the tool-call path (a free draft, the call written again under the schema,
  the tool's observation, an invalid call's error): the smoke agent answers
  everything directly, so these tests tune a copy of it for a second on one
  transcript whose call is invalid ({"tool": "sum", ...}), serve that
  checkpoint in place of model_agent.onnx, and compare with run_question on
  the tuned weights. The constraint switch changes the decoding, and the
  masked-token counts are shown exactly when it is on;
* Step runs one assistant turn per press, Run goes to the end;
* a knowledge.json that fails to load (404) gives a message naming the file;
* nothing model-related loads before the first press, no request leaves the
  site, nothing is logged as an error, axe finds nothing serious with the
  panel opened (light and dark), and it fits a 360 px screen.
"""

import json
import urllib.parse
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from model_export import agent, agent_train, build, export, model, train
from model_export.tokenizer import Tokenizer

pytestmark = pytest.mark.browser

AGENTS = "/agents/"
MESSI = "How many goals did Lionel Messi score in 2023, and what is its square root?"
TIMEOUT_MS = 60_000
MODEL_RELATED = (".onnx", "tokenizer.json", "knowledge.json", "/vendor/onnxruntime-web/")

# The tuned checkpoint's one transcript: a call the schema rejects (no tool "sum").
BAD_CALL = '{"tool": "sum", "x": 7}'
TUNE_QUESTION = "Hi!"


# ------------------------------------------------------------------------------------
# Python's side


@pytest.fixture(scope="module")
def artifacts(site_dir):
    """The model build the site was made from (its report names profile and hash)."""
    report = json.loads((Path(site_dir) / "assets" / "model" / "report.json").read_text())
    folder = build.CACHE_DIR / f"{report['profile']}-{report['hash'][:12]}"
    if not (folder / "params_agent.npz").is_file():
        pytest.fail(f"{folder} has no params_agent.npz: the site was built from a model build that is gone")
    tok = Tokenizer.load(folder / "tokenizer.json")
    kb = json.loads((folder / "knowledge.json").read_text())
    fields = agent_train.AgentConfig.__dataclass_fields__  # (settings this code does not know are left out)
    ac = agent_train.AgentConfig(**{k: v for k, v in report["agent"]["settings"].items() if k in fields})
    return {"folder": folder, "tok": tok, "tools": agent.make_tools(kb=kb), "ac": ac, "report": report}


def reference(params, config, art, question, constrained):
    """run_question's result, and what the page shows besides: each model call's output
    (None for one the full context cut short) and the transcript (when the context
    filled up, the text the model was reading then)."""
    calls, texts = [], []

    def recording(make, kind):
        def factory(*args, **kwargs):
            fn = make(*args, **kwargs)

            def call(text):
                texts.append(text)
                record = {"kind": kind, "output": None}
                calls.append(record)
                record["output"] = fn(text)
                return record["output"]
            return call
        return factory

    with mock.patch.object(agent, "token_generate_fn", recording(agent.token_generate_fn, "turn")), \
            mock.patch.object(agent, "constrained_json_fn", recording(agent.constrained_json_fn, "call")):
        result = agent_train.run_question(params, config, art["tok"], question, art["tools"], constrained, art["ac"])
    transcript = result["transcript"] if result["transcript"] is not None else texts[-1]
    return {"result": result, "calls": calls, "transcript": transcript}


@pytest.fixture(scope="module")
def smoke_agent(artifacts):
    return model.load_params(artifacts["folder"] / "params_agent.npz")


@pytest.fixture(scope="module")
def tuned(artifacts):
    """The smoke agent tuned on one transcript with an invalid call: (params, config, onnx bytes)."""
    params, config = model.load_params(artifacts["folder"] / "params_agent.npz")
    tok = artifacts["tok"]
    t = agent.build_transcript(TUNE_QUESTION, [], "7")
    t.segments[3:3] = [(BAD_CALL, True), (agent.TOOL, True), ("7", False), (agent.ASSISTANT, False)]
    ids, mask = agent.encode_transcript(tok, t)
    x, y = np.array([ids[:-1]]), np.array([ids[1:]])
    w = np.array([mask[1:]], np.float32)
    w /= w.sum()
    tc = train.TrainConfig(steps=150, batch_size=1, lr=1e-2, warmup_steps=5, weight_decay=0.0, eval_every=10**6)
    train.train(params, config, tc, lambda step, rng: (x, y, w), log=None)
    onnx_bytes = export.to_onnx(params, config, eot_id=tok.eot_id).SerializeToString()
    return params, config, onnx_bytes


# ------------------------------------------------------------------------------------
# The page's side


def panel(page):
    return page.locator(".agent-panel")


def serve_tuned(guide, onnx_bytes):
    guide.replace_model_file("model_agent.onnx", onnx_bytes)


def wait_state(guide, states, timeout=TIMEOUT_MS):
    node = panel(guide.page)
    try:
        guide.page.wait_for_function("([n, states]) => states.includes(n.dataset.state)",
                                     arg=[node.element_handle(), list(states)], timeout=timeout, polling=50)
    except Exception as exc:
        raise AssertionError(
            f"never reached {states}: state={node.get_attribute('data-state')!r}, "
            f"status={node.locator('.agent-status').text_content()!r}, "
            f"console={guide.console_errors!r}, page errors={guide.page_errors!r}") from exc


def set_inputs(node, question=None, constrained=None):
    if question is not None:
        node.locator(".agent-question").fill(question)
    if constrained is not None:
        node.locator(".agent-constrain").set_checked(constrained)


def shown(node):
    """What the panel shows after a run."""
    return {
        "result": json.loads(node.get_attribute("data-result")),
        "calls": json.loads(node.get_attribute("data-calls")),
        "transcript": node.get_attribute("data-transcript"),
        "transcript_text": node.locator(".agent-transcript").text_content(),
        "tokens": node.locator(".agent-tokens").text_content(),
        "stopped": node.locator(".agent-stopped").text_content(),
        "answers": node.locator(".agent-answer").all_text_contents(),
        "observations": node.locator(".agent-observation-text").all_text_contents(),
        "turns": node.locator(".agent-turn").count(),
        "masked": node.locator(".agent-masked").count(),
        "constrained_chips": node.locator(".agent-chips-constrained .agent-chip").count(),
    }


def run(guide, question=None, constrained=None):
    node = panel(guide.page)
    set_inputs(node, question, constrained)
    node.get_by_role("button", name="Run", exact=True).click()
    wait_state(guide, ("done", "error"))
    assert node.get_attribute("data-state") == "done", node.locator(".agent-status").text_content()
    return shown(node)


def assert_matches(out, want, tok, block_size):
    assert out["result"] == want["result"]
    assert out["calls"] == want["calls"]
    assert out["transcript"] == want["transcript"] == out["transcript_text"]
    assert out["stopped"] == want["result"]["stopped"]
    assert out["answers"] == ([] if want["result"]["answer"] is None else [want["result"]["answer"]])
    observations = [s["text"] for s in want["result"]["steps"] if s["kind"] == "observation"]
    if want["result"]["transcript"] is not None:  # (a stopped run's steps are gone in Python)
        assert out["observations"] == observations
        assert out["tokens"] == f"{len(tok.encode(want['transcript'], allow_special=True))} of {block_size} tokens"
    assert out["tokens"].endswith(f" of {block_size} tokens")




# ------------------------------------------------------------------------------------
# Tests


def test_messi_question_matches_python(guide, artifacts, smoke_agent):
    params, config = smoke_agent
    page = guide.open(AGENTS)
    assert [u for u in guide.requests if any(m in urllib.parse.urlsplit(u).path for m in MODEL_RELATED)] == []
    assert panel(page).locator(".agent-question").input_value() == MESSI  # the guide's question comes first
    assert panel(page).locator(".agent-constrain").is_checked()  # the constraint is on by default
    seen = guide.watch_text(panel(page).locator(".agent-status"))
    for constrained in (True, False):
        out = run(guide, MESSI, constrained)
        want = reference(params, config, artifacts, MESSI, constrained)
        assert_matches(out, want, artifacts["tok"], config.block_size)
    assert any(t.startswith("Loading the agent") and "model_agent.onnx" in t for t in seen), seen  # progress
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_context_full_stop_matches_python(guide, artifacts, smoke_agent):
    params, config = smoke_agent
    question = " ".join([MESSI] * 3)  # longer than the context on its own
    guide.open(AGENTS)
    out = run(guide, question, True)
    want = reference(params, config, artifacts, question, True)
    assert want["result"]["stopped"] == f"stopped: the transcript is longer than the {config.block_size}-token context"
    assert_matches(out, want, artifacts["tok"], config.block_size)
    guide.assert_no_errors()


def test_constraint_switch_changes_the_decoding(guide, artifacts, tuned):
    params, config, onnx_bytes = tuned
    free = reference(params, config, artifacts, TUNE_QUESTION, False)
    strict = reference(params, config, artifacts, TUNE_QUESTION, True)
    # the tuning worked: the free draft is the invalid call; the constrained call differs and validates
    assert free["calls"][0]["output"].startswith(BAD_CALL), free
    assert strict["calls"][1]["kind"] == "call" and strict["calls"][1]["output"] != BAD_CALL, strict
    serve_tuned(guide, onnx_bytes)
    guide.open(AGENTS)
    node = panel(guide.page)
    out = run(guide, TUNE_QUESTION, False)
    assert_matches(out, free, artifacts["tok"], config.block_size)
    assert out["masked"] == 0 and out["constrained_chips"] == 0  # no mask: no counts
    actions = node.locator(".agent-action").all_text_contents()
    assert actions and BAD_CALL in actions[0]
    assert "Error: the action does not match the tool schema" in node.locator(".agent-observation-text").first.text_content()

    out = run(guide, TUNE_QUESTION, True)
    assert_matches(out, strict, artifacts["tok"], config.block_size)
    assert out["masked"] == out["constrained_chips"] > 0  # one count under every constrained token
    first_call = strict["calls"][1]["output"]
    assert first_call in node.locator(".agent-action").first.text_content()
    assert "The constraint changed the call" in node.locator(".agent-turn").first.text_content()
    vocab = artifacts["report"]["model"]["vocab_size"]
    counts = [int(t.split()[0]) for t in node.locator(".agent-masked").all_text_contents()]
    assert all(0 <= c < vocab for c in counts) and max(counts) > 0
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_step_runs_one_turn_per_press(guide, artifacts, tuned):
    params, config, onnx_bytes = tuned
    want = reference(params, config, artifacts, TUNE_QUESTION, True)
    assert len([c for c in want["calls"] if c["kind"] == "turn"]) >= 2, want  # the run has a second turn
    serve_tuned(guide, onnx_bytes)
    page = guide.open(AGENTS)
    node = panel(page)
    set_inputs(node, TUNE_QUESTION, True)
    step = node.get_by_role("button", name="Step", exact=True)
    step.click()
    wait_state(guide, ("paused", "done", "error"))
    assert node.get_attribute("data-state") == "paused"
    assert node.locator(".agent-turn").count() == 1
    calls = json.loads(node.get_attribute("data-calls"))
    assert calls == want["calls"][:2]  # the draft and the constrained call of turn 1
    assert node.locator(".agent-observation-text").count() == 1  # the tool ran
    assert node.get_attribute("data-result") is None
    step.click()
    wait_state(guide, ("paused", "done"))
    assert node.locator(".agent-turn").count() == 2
    if node.get_attribute("data-state") == "paused":
        node.get_by_role("button", name="Run", exact=True).click()
        wait_state(guide, ("done",))
    assert_matches(shown(node), want, artifacts["tok"], config.block_size)
    guide.assert_no_errors()


def test_failed_knowledge_load_names_the_file(guide):
    guide.route_model_file("knowledge.json", lambda route: route.fulfill(status=404, body="not found"))
    page = guide.open(AGENTS)
    node = panel(page)
    node.get_by_role("button", name="Run", exact=True).click()
    wait_state(guide, ("error", "done"))
    assert node.get_attribute("data-state") == "error"
    status = node.locator(".agent-status")
    assert "knowledge.json" in status.text_content() and "404" in status.text_content(), status.text_content()
    assert "lab-error" in status.get_attribute("class")
    # the browser logs the 404 itself; nothing else may be logged
    others = [(t, u) for t, u in guide.unexpected_console_errors() if "/knowledge.json" not in u]
    assert others == [] and guide.page_errors == []


def test_keyboard_only(guide, artifacts, smoke_agent):
    page = guide.open(AGENTS)
    node = panel(page)
    node.locator(".agent-example").focus()
    page.keyboard.press("ArrowDown")  # a native select: the next example
    assert node.locator(".agent-question").input_value() != MESSI
    node.locator(".agent-question").focus()
    page.keyboard.press("Enter")  # Enter in the question runs the loop
    wait_state(guide, ("done", "error"))
    assert node.get_attribute("data-state") == "done"
    node.locator(".agent-constrain").focus()
    page.keyboard.press("Space")
    assert not node.locator(".agent-constrain").is_checked()
    node.locator(".agent-step").focus()
    page.keyboard.press("Enter")
    wait_state(guide, ("paused", "done", "error"))
    assert node.get_attribute("data-state") in ("paused", "done")
    guide.assert_no_errors()


@pytest.mark.parametrize("scheme", ("light", "dark"))
def test_axe_with_the_panel_opened(guide, tuned, scheme):
    serve_tuned(guide, tuned[2])  # a run with actions, observations and masked counts to check
    page = guide.page
    page.emulate_media(color_scheme=scheme)
    page.add_init_script("for (const k of Object.keys(localStorage)) if (k.endsWith('__palette')) localStorage.removeItem(k);")
    guide.open(AGENTS)
    run(guide, TUNE_QUESTION, True)
    assert guide.axe_violations(".agent-panel") == []
    guide.assert_no_errors()


def test_phone_width(guide, tuned):
    page = guide.page
    page.set_viewport_size({"width": 360, "height": 740})
    serve_tuned(guide, tuned[2])
    guide.open(AGENTS)
    run(guide, TUNE_QUESTION, True)
    probe = page.evaluate("""() => {
        const doc = document.documentElement;
        const off = Array.from(document.querySelectorAll('.agent-panel button, .agent-panel input, .agent-panel select'))
            .map(e => e.getBoundingClientRect()).filter(r => r.left < -1 || r.right > doc.clientWidth + 1).length;
        return {over: doc.scrollWidth - doc.clientWidth, off};
    }""")
    assert probe == {"over": 0, "off": 0}, probe
    guide.assert_no_errors()
