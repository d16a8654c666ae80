// The small base the model-backed demos share: the root's data-state (for
// tests and styles), one status line, a busy flag that disables the demo's
// controls while a task runs (and enables its Stop button, if it has one), and
// one failure display whose Retry button runs the failed task again.
//
//   class Demo extends Widget {
//     constructor(root) {
//       super(root, "Press Go; the model loads on the first click.");
//       this.goBtn = el("button", { onclick: () => this.perform(() => this.go()) }, "Go");
//       this.controls = [this.goBtn];
//       root.append(this.goBtn, this.status);
//     }
//   }
//
// data-state: idle (mounted), loading (a task runs: often the model's first
// download), done (the task finished), error (it failed; the status says why).
// A demo with states of its own (running, paused, ...) sets them with
// setState and its busy flag with setBusy.

import { LoadError } from "./assets.js";
import { el, offerRetry } from "./dom.js";

export class Widget {
  // intro: the status line's first words; statusClass: a class of the demo's own for it.
  constructor(root, intro = "", { statusClass = "" } = {}) {
    this.root = root;
    this.status = el("p", { class: `lab-status ${statusClass}`.trim(), role: "status", "aria-live": "polite" }, intro);
    this.controls = []; // disabled while a task runs
    this.stopControls = []; // enabled only while a task runs
    this.busy = false;
    this.setState("idle");
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  // A message in the status line, marked as an error or not.
  say(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("lab-error", error);
  }

  setBusy(on) {
    this.busy = on;
    for (const control of this.controls) control.disabled = on;
    for (const control of this.stopControls) control.disabled = !on;
    this.root.classList.toggle("lab-running", on);
  }

  // Runs task() (async) with the controls disabled. A click while a task runs
  // is ignored: the controls are disabled, and a keyboard shortcut that calls
  // perform() again must not start a second task.
  async perform(task) {
    if (this.busy) return undefined;
    this.setState("loading");
    this.setBusy(true);
    offerRetry(this.status, null);
    try {
      const result = await task();
      this.setState("done");
      return result;
    } catch (err) {
      this.fail(err, () => this.perform(task));
      return undefined;
    } finally {
      this.setBusy(false);
    }
  }

  // The task failed: state "error", the reason in the status line (a failed
  // download has already written which file and why, with a Retry that
  // downloads again: loadWithStatus). retry (a function): a Retry button that
  // repeats the task instead.
  fail(err, retry) {
    this.setState("error");
    this.status.classList.add("lab-error");
    if (!(err instanceof LoadError)) this.status.textContent = `Something went wrong: ${err.message || err}`;
    if (retry) offerRetry(this.status, retry);
  }
}
