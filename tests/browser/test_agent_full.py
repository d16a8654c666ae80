"""The agent panel with the model the site ships: it solves the guide's Messi example.

Marked `full` (tests/conftest.py: the first run builds the full model). The
smoke-model tests in test_agent_panel.py check that the page runs the agent loop
exactly as Python does; this one checks the outcome a reader sees on the real
site: search, calculator, "3.32", equal to Python's run on the same weights.
"""

import json

import pytest

from model_export import agent, agent_train, model
from model_export.tokenizer import Tokenizer

pytestmark = [pytest.mark.browser, pytest.mark.full]

MESSI = "How many goals did Lionel Messi score in 2023, and what is its square root?"


def test_the_page_solves_the_messi_example(full_guide, full_artifacts):
    page = full_guide.open("/agents/")
    node = page.locator(".agent-panel")
    assert node.locator(".agent-question").input_value() == MESSI
    assert node.locator(".agent-constrain").is_checked()
    node.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_function("n => ['done', 'error'].includes(n.dataset.state)", arg=node.element_handle(),
                           timeout=120_000, polling=100)
    assert node.get_attribute("data-state") == "done", node.locator(".agent-status").text_content()
    assert node.locator(".agent-answer").all_text_contents() == ["3.32"]
    assert node.locator(".agent-observation-text").all_text_contents() == [
        "Lionel Messi scored 11 goals in 2023.", "3.32"]
    assert node.locator(".agent-stopped").text_content() == "final answer"

    params, config = model.load_params(full_artifacts / "params_agent.npz")
    tok = Tokenizer.load(full_artifacts / "tokenizer.json")
    kb = json.loads((full_artifacts / "knowledge.json").read_text())
    want = agent_train.run_question(params, config, tok, MESSI, agent.make_tools(kb=kb), True,
                                    agent_train.AgentConfig())
    assert json.loads(node.get_attribute("data-result")) == want
    full_guide.assert_stays_on_site()
    full_guide.assert_no_errors()
