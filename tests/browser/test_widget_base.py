"""The widgets' shared base (docs/javascripts/widget.js) and their one registry (widgets.js).

* perform(task): controls disabled and data-state "loading" while the task runs,
  a second call meanwhile ignored, "done" after;
* a failed task: data-state "error", the reason in the status line, one Retry
  button that runs the same task again (and goes once it is pressed);
* every widget on the site mounts through widgets.js: no page carries a script
  of its own.
"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PAGE = "/"


def test_perform_busy_failure_and_retry(guide):
    page = guide.open(PAGE)
    result = page.evaluate("""async () => {
      const { Widget } = await import(new URL("javascripts/widget.js", document.baseURI).href);
      const root = document.createElement("div");
      document.body.append(root);
      const w = new Widget(root, "Press Go.");
      const go = document.createElement("button");
      const stop = document.createElement("button");
      w.controls = [go];
      w.stopControls = [stop];
      root.append(go, stop, w.status);
      const seen = { initial: root.dataset.state, intro: w.status.textContent };

      let calls = 0;
      let release;
      let fail = true;
      const task = async () => {
        calls += 1;
        seen.during = { state: root.dataset.state, go: go.disabled, stop: stop.disabled, busy: root.classList.contains("lab-running") };
        await new Promise((r) => { release = r; });
        if (fail) throw new Error("the task broke");
        w.say("Went.");
      };
      const first = w.perform(task);
      const second = await w.perform(task); // ignored: one task at a time
      release();
      await first;
      seen.callsAfterTwo = calls;
      seen.second = second === undefined;
      seen.failed = { state: root.dataset.state, text: w.status.textContent, error: w.status.classList.contains("lab-error"),
                      retries: root.querySelectorAll(".lab-retry").length, go: go.disabled, stop: stop.disabled };
      fail = false;
      root.querySelector(".lab-retry").click();
      await new Promise((r) => setTimeout(r, 0));
      release();
      await new Promise((r) => setTimeout(r, 0));
      seen.retried = { calls, state: root.dataset.state, text: w.status.textContent, error: w.status.classList.contains("lab-error"),
                       retries: root.querySelectorAll(".lab-retry").length };
      root.remove();
      return seen;
    }""")
    assert result["initial"] == "idle" and result["intro"] == "Press Go."
    assert result["during"] == {"state": "loading", "go": True, "stop": False, "busy": True}
    assert result["callsAfterTwo"] == 1 and result["second"]
    assert result["failed"] == {"state": "error", "text": "Something went wrong: the task broke", "error": True,
                                "retries": 1, "go": False, "stop": True}
    assert result["retried"] == {"calls": 2, "state": "done", "text": "Went.", "error": False, "retries": 0}
    guide.assert_no_errors()


def test_no_page_mounts_a_widget_by_itself(site_dir):
    """The only scripts of the site's own a page loads are cells.js and widgets.js
    (mkdocs.yml): a page-level script would bypass the registry."""
    scripts = re.compile(r'<script[^>]*src="(?:\.{1,2}/)*javascripts/([^"?]+)')  # not the theme's assets/javascripts
    own = {}
    for page in Path(site_dir).rglob("*.html"):
        if page.relative_to(site_dir).parts[0] in ("assets", "vendor", "search"):
            continue
        for name in scripts.findall(page.read_text(encoding="utf-8")):
            own.setdefault(name, set()).add(str(page.relative_to(site_dir)))
    assert set(own) == {"cells.js", "widgets.js"}, own
