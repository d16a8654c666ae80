"""The inference demos in a real browser: onnxruntime-web running the smoke model, offline.

Contract under test (docs/javascripts/model-runtime.js, generation.js, sampling.js,
generation-lab.js, attention-view.js, embedding-neighbours.js; pages under docs/inference/):

* greedy generation in the page is token for token what the shipped run file
  (``python run.py model.safetensors PROMPT``, numpy only) prints, also when the
  text outgrows the context window;
* hovering (or focusing) a token shows attention weights that sum to 1 over
  the tokens up to it and are exactly 0 after it, for every layer and head and
  for the average over heads;
* an over-long prompt is truncated to the window with a visible notice, and a
  window that slides greys the dropped tokens and says so;
* empty and emoji-only prompts work; a seed reproduces a sampled run;
* the logit lens (what each block would predict) appears only when asked, and
  its last depth is the model's own next-token distribution;
* opening a page downloads nothing model-related; the model loads on the first
  click and says which file failed if one does; no request leaves the site and
  nothing is logged as an error; phone width has no page-level horizontal scroll.
"""

import importlib.util
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

GEN = "/inference/generation/"
CTX = "/inference/context-window/"
TWO = "/inference/two-files/"
PAGES = [GEN, CTX, TWO]
LOAD_TIMEOUT_MS = 60_000

# What must not load before the reader's first click.
MODEL_RELATED = (".onnx", ".safetensors", "tokenizer.json", "/vendor/onnxruntime-web/", "ort-wasm", "ort.wasm")


def model_related(urls):
    return [u for u in urls if any(m in urllib.parse.urlsplit(u).path for m in MODEL_RELATED)]


@pytest.fixture(scope="module")
def model_dir(site_dir):
    return Path(site_dir) / "assets" / "model"


@pytest.fixture(scope="module")
def run_file(model_dir):
    """The shipped run.py, imported as a module (for its ids), and its folder."""
    spec = importlib.util.spec_from_file_location("shipped_run", model_dir / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def block_size(model_dir):
    return json.loads((model_dir / "report.json").read_text())["model"]["block_size"]


def lab(page, index=0):
    return page.locator(".generation-lab").nth(index)


def wait_state(guide, node, states, timeout=LOAD_TIMEOUT_MS):
    try:
        guide.page.wait_for_function(
            "([n, states]) => states.includes(n.dataset.state)",
            arg=[node.element_handle(), list(states)], timeout=timeout, polling=50,
        )
    except Exception as exc:
        raise AssertionError(
            f"never reached {states}: state={node.get_attribute('data-state')!r}, "
            f"status={node.locator('.lab-status').first.text_content()!r}, "
            f"console={guide.console_errors!r}, page errors={guide.page_errors!r}"
        ) from exc


def set_controls(node, prompt=None, **values):
    if prompt is not None:
        node.locator(".lab-prompt").fill(prompt)
    if values and not node.locator(".lab-settings").evaluate("d => d.open"):
        node.locator(".lab-settings summary").click()
    names = {"temperature": ".lab-temperature", "top_k": ".lab-top-k", "top_p": ".lab-top-p",
             "seed": ".lab-seed", "max_new": ".lab-max-new", "window": ".lab-window"}
    for key, value in values.items():
        node.locator(names[key]).fill(str(value))


def generate(guide, node):
    node.locator(".lab-generate").click()
    wait_state(guide, node, ("done", "error"))
    assert node.get_attribute("data-state") == "done", node.locator(".lab-status").text_content()
    return json.loads(node.get_attribute("data-ids"))


def step(guide, node):
    node.locator(".lab-step").click()
    wait_state(guide, node, ("paused", "done", "error"))
    assert node.get_attribute("data-state") != "error", node.locator(".lab-status").text_content()



def test_inference_pages_exist(site_pages):
    assert set(PAGES) <= set(site_pages)


@pytest.mark.parametrize("path", PAGES)
def test_nothing_model_related_loads_before_the_first_click(guide, path):
    guide.open(path)
    guide.page.wait_for_timeout(300)
    assert model_related(guide.requests) == []
    guide.assert_no_errors()


def test_greedy_generation_matches_the_run_file(guide, model_dir, run_file, block_size):
    page = guide.open(GEN)
    node = lab(page)
    model = run_file.Model(str(model_dir / "model.safetensors"))
    tok = model.tokenizer
    # the last prompt is longer than the window: the page must truncate and slide exactly as run.py does
    long_prompt = " ".join(["Weather bulletin for Paris. A flash flood watch will be in effect all night."] * 12)
    assert len(run_file.encode(tok, long_prompt)) > block_size
    prompts = ["The capital of France is", "Weather bulletin for Paris.", "The king", long_prompt]
    for prompt in prompts:
        set_controls(node, prompt, temperature=0, max_new=40)
        ids = generate(guide, node)
        want = run_file.generate(model, run_file.encode(tok, prompt), max_new_tokens=40, temperature=0.0)
        assert ids == want, f"prompt {prompt!r}: page {ids} vs run.py {want}"
        cli = subprocess.run(
            [sys.executable, str(model_dir / "run.py"), str(model_dir / "model.safetensors"), prompt],
            capture_output=True, text=True, check=True, timeout=120,
        )
        assert cli.stdout == node.locator(".lab-text").evaluate(
            "t => Array.from(t.querySelectorAll('.lab-text-prompt, .lab-text-new')).map(s => s.textContent).join('')"
        ) + "\n"
        node.locator(".lab-reset").click()
    guide.assert_no_errors()


def test_model_loads_on_first_click_with_progress_then_reports_ready(guide):
    page = guide.open(GEN)
    node = lab(page)
    seen = guide.watch_text(node.locator(".lab-status"))
    step(guide, node)
    assert any("model.onnx" in s and "Loading" in s for s in seen), seen
    assert any(".onnx" in u for u in guide.requests)
    assert any("/vendor/onnxruntime-web/" in u for u in guide.requests)
    assert len(json.loads(node.get_attribute("data-ids"))) == 1
    # the pipeline shows every stage of that step
    stages = node.locator(".lab-stage h4").all_text_contents()
    assert len(stages) == 6
    assert node.locator(".lab-candidates tbody tr").count() >= 10
    assert node.locator(".lab-candidates tr.lab-chosen").count() == 1
    assert node.locator(".lab-embed .lab-cell").count() > 0
    guide.assert_no_errors()


def test_failed_load_names_the_file(guide):
    guide.route_model_file("model.onnx", lambda route: route.fulfill(status=404, body="gone"))
    page = guide.open(GEN)
    node = lab(page)
    node.locator(".lab-step").click()
    wait_state(guide, node, ("error",))
    status = node.locator(".lab-status").text_content()
    assert "model.onnx" in status and "404" in status, status
    assert guide.page_errors == []


def test_sampling_is_reproducible_with_a_seed(guide, model_dir, run_file):
    page = guide.open(GEN)
    node = lab(page)
    set_controls(node, "The king", temperature=1.2, top_k=40, top_p=0.95, seed=7, max_new=15)
    first = generate(guide, node)
    node.locator(".lab-reset").click()
    again = generate(guide, node)
    assert first == again
    # the same random numbers and sampler as run.py: the same seed gives the same text
    model = run_file.Model(str(model_dir / "model.safetensors"))
    assert first == run_file.generate(model, run_file.encode(model.tokenizer, "The king"), 15, 1.2, 40, 0.95, seed=7)
    # the table says what top-k/top-p cut and shows a random draw
    assert node.locator(".lab-candidates").count() == 1
    assert "draw" in node.locator(".lab-stage").nth(4).text_content()
    others = []
    for seed in (8, 9, 10):
        set_controls(node, seed=seed)
        others.append(generate(guide, node))
    assert any(o != first for o in others)
    guide.assert_no_errors()


def test_candidate_order_is_numpys_stable_argsort(guide):
    """distribution() ranks ids with a radix sort on the logits' bits (fast path for
    Float32Array logits): the order must be exactly a stable sort of the
    probabilities, most probable first, ties by the lower id, as run.py's
    np.argsort(-probs, kind="stable"); and the cuts must partition the vocabulary."""
    page = guide.open(GEN)
    bad = page.evaluate("""async () => {
      const rt = await import(new URL("../../javascripts/sampling.js", location.href).href);
      let seed = 1;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
      const bad = [];
      for (let t = 0; t < 300; t++) {
        const V = t % 3 ? 512 : 37;
        const kind = t % 5;
        const logits = Float32Array.from({ length: V }, () => kind === 0 ? (rnd() - 0.5) * 20
          : kind === 1 ? Math.round(rnd() * 4) - 2            // many exact ties
          : kind === 2 ? (rnd() < 0.5 ? -Infinity : rnd())    // masked ids
          : kind === 3 ? (rnd() - 0.5) * 600                  // probabilities that underflow to 0
          : (rnd() < 0.5 ? 0 : -0));                          // +0 and -0
        for (const opts of [{ temperature: 0 }, { temperature: 1 }, { temperature: 0.05 },
                            { temperature: 0.8, topK: 10, topP: 0.9 }, { temperature: 2, topP: 0.5 }]) {
          const d = rt.distribution(logits, opts);
          const p = opts.temperature > 0 ? d.scaled : logits;
          const want = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
          if (JSON.stringify(d.order) !== JSON.stringify(want)) bad.push(["order", t, opts]);
          if (!d.greedy) {
            const ids = [...d.kept, ...d.cutBy.keys()].sort((a, b) => a - b);
            if (ids.length !== V || ids.some((id, i) => id !== i)) bad.push(["partition", t, opts]);
            if (JSON.stringify([...d.final.keys()]) !== JSON.stringify(want.slice(0, d.kept.size))) bad.push(["kept", t, opts]);
          }
        }
      }
      const plain = Array.from({ length: 50 }, (_, i) => Math.cos(i)); // not a Float32Array: the comparator path
      const order = rt.distribution(plain, { temperature: 1 }).order;
      const sorted = Array.from({ length: 50 }, (_, i) => i).sort((a, b) => plain[b] - plain[a] || a - b);
      if (JSON.stringify(order) !== JSON.stringify(sorted)) bad.push(["plain array"]);
      return bad;
    }""")
    assert bad == []
    guide.assert_no_errors()


def test_stop_interrupts_generate_promptly(guide):
    """Generate yields to the browser every few milliseconds, not after every token:
    a click on Stop must still land mid-run. Each forward pass is slowed to 10 ms
    here so that the run would take at least 5 s (a loaded machine may delay the
    click by a second or more), and end-of-text is masked so that it
    cannot end by itself first."""
    page = guide.open(CTX)
    node = lab(page)
    set_controls(node, "The code for the locker is 4817.", temperature=3, top_k=0, top_p=1, seed=3, max_new=500, window=8)
    step(guide, node)  # loads the model
    page.evaluate("""async () => {
      const rt = await import(new URL("../../javascripts/model-runtime.js", location.href).href);
      const runNow = rt.Model.prototype.runNow;
      rt.Model.prototype.runNow = async function (...args) {
        const t = performance.now();
        while (performance.now() - t < 10) {}
        const r = await runNow.apply(this, args);
        r.logits[this.eotId] = -Infinity;
        return r;
      };
    }""")
    page.evaluate("""(node) => {
      window.__texts = 0;
      new MutationObserver(() => { window.__texts += 1; }).observe(node.querySelector(".lab-text"), { childList: true, subtree: true });
    }""", node.element_handle())
    node.locator(".lab-generate").click()
    page.wait_for_timeout(300)
    assert node.get_attribute("data-state") == "running"
    node.locator(".lab-stop").click()
    wait_state(guide, node, ("done", "error"), timeout=10_000)
    assert node.get_attribute("data-done-reason") == "stopped"
    n = len(json.loads(node.get_attribute("data-ids")))
    assert 10 < n < 400, n
    assert page.evaluate("() => window.__texts") > 3  # the text was redrawn while it ran
    guide.assert_no_errors()


def test_attention_rows_sum_to_one_and_respect_the_causal_mask(guide):
    page = guide.open(GEN)
    view = page.locator(".attention-view")
    view.locator(".att-pronoun").click()
    wait_state(guide, view, ("done", "error"))
    assert view.get_attribute("data-state") == "done"
    assert "didn't cross the road because it was too wide" in view.locator(".att-input").input_value()
    chips = view.locator(".att-token")
    n = chips.count()
    assert n >= 10
    # the pronoun is selected
    selected = view.locator(".att-token.att-query")
    assert selected.count() == 1 and "it" in selected.text_content()
    layers = view.locator(".att-layer option").count()
    heads = view.locator(".att-head option").evaluate_all("os => os.map(o => o.value)")
    assert "-1" in heads and len(heads) >= 2
    for layer in range(layers):
        view.locator(".att-layer").select_option(str(layer))
        for head in heads:
            view.locator(".att-head").select_option(head)
            for q in sorted({0, 1, n // 2, n - 1}):
                chips.nth(q).hover()
                weights = [float(w) for w in chips.evaluate_all("cs => cs.map(c => c.dataset.weight)")]
                assert abs(sum(weights[: q + 1]) - 1) < 1e-4, (layer, head, q, weights)
                assert all(w == 0 for w in weights[q + 1:]), (layer, head, q, weights)
                assert all(w >= 0 for w in weights)
                assert view.locator(".att-token.att-future").count() == n - q - 1
    # heatmap: one row per token, the upper triangle masked
    assert view.locator(".att-heat tbody tr").count() == n
    assert view.locator(".att-heat td.att-masked").count() == n * (n - 1) // 2
    # keyboard: focus a token, arrow keys move the selection
    chips.nth(2).focus()
    page.keyboard.press("ArrowRight")
    assert view.locator(".att-token.att-query").get_attribute("data-index") == "3"
    guide.assert_no_errors()


def test_over_long_prompt_is_truncated_with_a_notice(guide, block_size):
    page = guide.open(CTX)
    node = lab(page)
    prompt = "The capital of France is Paris. " * 40
    set_controls(node, prompt, temperature=0, max_new=3, window="")
    step(guide, node)
    notice = node.locator(".lab-notice .lab-truncated")
    assert notice.is_visible()
    text = notice.text_content()
    n_tokens = node.locator(".lab-chip").count() - 1  # minus the one generated token
    assert str(n_tokens) in text and str(block_size) in text, text
    dropped = node.locator(".lab-chip.lab-dropped").count()
    assert dropped == n_tokens - (block_size - 1)
    assert dropped > 0 and str(dropped) in text
    guide.assert_no_errors()


def test_sliding_window_greys_dropped_tokens(guide):
    page = guide.open(CTX)
    node = lab(page)
    assert node.locator(".lab-window").count() == 1
    # a small window and a high temperature (end-of-text stays unlikely): it must slide
    set_controls(node, "The code for the locker is 4817.", temperature=3, top_k=0, top_p=1, seed=3, max_new=12, window=8)
    ids = generate(guide, node)
    assert len(ids) >= 3, "ended too early to slide"
    slid = node.locator(".lab-notice .lab-slid")
    assert slid.is_visible() and "no longer see" in slid.text_content()
    total = node.locator(".lab-chip").count()
    assert node.locator(".lab-chip:not(.lab-dropped)").count() <= 8
    assert node.locator(".lab-chip.lab-dropped").count() == total - node.locator(".lab-chip:not(.lab-dropped)").count()
    guide.assert_no_errors()


def test_empty_prompt_starts_a_new_document(guide):
    page = guide.open(GEN)
    node = lab(page)
    set_controls(node, "", temperature=0, max_new=10)
    step(guide, node)
    assert "empty" in node.locator(".lab-notice").text_content()
    assert node.locator(".lab-text .lab-text-marker").first.text_content() == "<|endoftext|>"
    generate(guide, node)
    assert node.get_attribute("data-done-reason") in ("eot", "max")
    guide.assert_no_errors()


def test_emoji_only_prompt_is_handled(guide, model_dir, run_file):
    page = guide.open(GEN)
    node = lab(page)
    prompt = "😀🎉"
    set_controls(node, prompt, temperature=0, max_new=8)
    ids = generate(guide, node)
    model = run_file.Model(str(model_dir / "model.safetensors"))
    tok = model.tokenizer
    assert ids == run_file.generate(model, run_file.encode(tok, prompt), max_new_tokens=8, temperature=0.0)
    chips = node.locator(".lab-chip-text").all_text_contents()
    assert any(c.startswith("<0x") for c in chips), chips  # byte tokens of the emoji
    assert node.locator(".lab-text-prompt").text_content() == prompt
    guide.assert_no_errors()


def test_embedding_neighbours(guide):
    page = guide.open(GEN)
    view = page.locator(".embedding-neighbours")
    view.locator(".emb-input").fill(" the")
    view.locator(".emb-find").click()
    wait_state(guide, view, ("done", "error"))
    rows = view.locator(".emb-table tbody tr")
    assert rows.count() == 10
    sims = [float(s) for s in rows.evaluate_all("rs => rs.map(r => r.dataset.sim)")]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    query = view.locator(".emb-table").get_attribute("data-query")
    assert query not in rows.evaluate_all("rs => rs.map(r => r.dataset.id)")
    guide.assert_no_errors()


def test_requests_stay_on_site_while_generating(guide):
    page = guide.open(GEN)
    generate(guide, lab(page))
    page.locator(".attention-view .att-show").click()
    wait_state(guide, page.locator(".attention-view"), ("done",))
    guide.assert_stays_on_site()
    guide.assert_no_errors()


def test_keyboard_only(guide):
    page = guide.open(GEN)
    node = lab(page)
    node.locator(".lab-prompt").focus()
    page.keyboard.press("End")
    page.keyboard.press("ControlOrMeta+Enter")  # Ctrl+Enter in the prompt generates
    wait_state(guide, node, ("done", "error"))
    assert node.get_attribute("data-state") == "done"
    node.locator(".lab-reset").focus()
    page.keyboard.press("Enter")
    assert node.get_attribute("data-ids") is None
    node.locator(".lab-step").focus()
    page.keyboard.press("Enter")
    wait_state(guide, node, ("paused", "done"))
    guide.assert_no_errors()


def test_two_files_page_links_sizes_and_command(guide, model_dir):
    page = guide.open(TWO)
    for name in ("model.safetensors", "model_sft.safetensors", "model_rlhf.safetensors", "model_agent.safetensors", "run.py"):
        link = page.locator(f'a[href$="assets/model/{name}"]')
        assert link.count() >= 1, name
        href = urllib.parse.urljoin(page.url, link.first.get_attribute("href"))
        assert href == f"{guide.base_url}/assets/model/{name}"
    text = page.locator("article").inner_text()
    kb = f"{(model_dir / 'model.safetensors').stat().st_size / 1000:,.0f} kB"
    assert kb in text, kb
    assert 'python run.py model.safetensors "The capital of France is"' in text
    assert 'python run.py model_sft.safetensors --chat "What is the capital of Norway?"' in text
    assert model_related(guide.requests) == []


@pytest.mark.parametrize("path", PAGES)
def test_phone_width_has_no_horizontal_scroll(guide, path):
    page = guide.page
    page.set_viewport_size({"width": 360, "height": 740})
    guide.open(path)
    if path != TWO:
        node = lab(page)
        step(guide, node)
    if path == GEN:
        view = page.locator(".attention-view")
        view.locator(".att-pronoun").click()
        wait_state(guide, view, ("done",))
        view.locator(".att-token").nth(3).click()
        assert view.locator(".att-token.att-query").get_attribute("data-index") == "3"
    over = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert over <= 0, f"{path}: the page scrolls sideways by {over}px at phone width"
    guide.assert_no_errors()


def test_switching_to_the_instruction_tuned_checkpoint(guide, model_dir, run_file):
    """report.json lists model_sft.onnx: after the first load the lab offers a
    model switcher, and the SFT checkpoint answers the same prompt differently,
    token for token as run.py does with model_sft.safetensors."""
    checkpoints = json.loads((model_dir / "report.json").read_text()).get("checkpoints", [])
    if not any(c.get("file") == "model_sft.onnx" for c in checkpoints):
        pytest.skip("this build ships no SFT checkpoint")
    page = guide.open(GEN)
    node = lab(page)
    prompt = "<|user|>What is the capital of France?<|assistant|>"
    set_controls(node, prompt, temperature=0, max_new=24)
    base_ids = generate(guide, node)
    select = node.locator(".lab-checkpoint-select")
    select.wait_for(timeout=LOAD_TIMEOUT_MS)
    assert {"model", "sft", "rlhf"} <= set(select.locator("option").evaluate_all("os => os.map(o => o.value)"))
    select.select_option("sft")  # loads model_sft.onnx; the next Generate waits for it
    sft_ids = generate(guide, node)
    assert "model_sft.onnx" in " ".join(guide.requests)
    sft = run_file.Model(str(model_dir / "model_sft.safetensors"))
    tok = sft.tokenizer
    # the lab may or may not read <|user|> as a special token; either way it must match run.py
    wants = [run_file.generate(sft, run_file.encode(tok, prompt, allow_special), max_new_tokens=24, temperature=0.0)
             for allow_special in (False, True)]
    assert sft_ids in wants, f"page {sft_ids} vs run.py {wants}"
    assert sft_ids != base_ids
    guide.assert_no_errors()


@pytest.mark.parametrize("width", [390, 1280])
def test_logit_lens_shows_each_depth_and_ends_at_the_models_prediction(guide, model_dir, width, tmp_path):
    """The lens appears only when asked (and loads no extra file); it has one row
    per block, and its last row is the model's actual prediction: the same top
    tokens with the same probabilities as stage 4's table (greedy: softmax order).
    It fits a phone's width and passes axe."""
    n_layer = json.loads((model_dir / "report.json").read_text())["model"]["n_layer"]
    page = guide.page
    page.set_viewport_size({"width": width, "height": 900})
    guide.open(GEN)
    node = lab(page)
    set_controls(node, "The capital of France is")
    step(guide, node)
    assert node.locator(".lab-lens-table").count() == 0        # nothing until the reader asks
    files_before = set(model_related(guide.requests))
    toggle = node.locator(".lab-lens-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    box = node.locator(".lab-lens")
    page.wait_for_function("n => ['ready', 'error'].includes(n.dataset.lensState)", arg=box.element_handle(), timeout=LOAD_TIMEOUT_MS)
    assert box.get_attribute("data-lens-state") == "ready", box.inner_text()
    assert node.locator(".lab-lens-toggle").get_attribute("aria-expanded") == "true"
    assert set(model_related(guide.requests)) == files_before  # the lens is one more pass of the loaded model
    rows = node.locator(".lab-lens-table tbody tr")
    assert rows.count() == n_layer
    final = rows.nth(n_layer - 1)
    assert "the model's prediction" in final.inner_text()
    lens_ids = [int(i) for i in final.locator(".lab-lens-item").evaluate_all("els => els.map(e => e.dataset.id)")][:5]
    lens_pct = final.locator(".lab-lens-p").all_text_contents()[:5]
    table = node.locator(".lab-candidates tbody tr")
    want_ids = [int(i) for i in table.evaluate_all("els => els.map(e => e.dataset.id)")][:5]
    want_pct = [table.nth(i).locator("td").nth(4).text_content() for i in range(5)]
    assert lens_ids == want_ids and lens_pct == want_pct, (lens_ids, lens_pct, want_ids, want_pct)
    assert all(0 <= float(p) <= 1 for p in node.locator(".lab-lens-item").evaluate_all("els => els.map(e => e.dataset.p)"))
    # the next step keeps the lens open and re-reads it for the new context
    step(guide, node)
    page.wait_for_function("n => n.querySelector('.lab-lens')?.dataset.lensState === 'ready'", arg=node.element_handle(),
                           timeout=LOAD_TIMEOUT_MS)
    over = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert over <= 0, f"the page scrolls sideways by {over}px at {width}px"
    lens = node.locator(".lab-lens").element_handle()
    assert lens.evaluate("e => e.scrollWidth <= e.clientWidth"), "the lens overflows its box"
    node.locator(".lab-lens").screenshot(path=str(tmp_path / f"lens-{width}.png"))  # renders: no error
    assert guide.axe_violations(".generation-lab .lab-lens") == []
    node.locator(".lab-lens-toggle").click()                   # and it closes again
    assert node.locator(".lab-lens-table").count() == 0
    guide.assert_no_errors()
