// Runnable cells: Run, Stop and Reset for every ```pycell on the page.
//
// Progressive enhancement: the build already put each cell's highlighted source
// and true output in the page, so nothing here is needed to read it. This
// module only adds buttons. Python (Pyodide) starts on the first Run, the
// editor (CodeMirror) on the first click into the code: opening a page
// downloads neither.
//
// Cells share one interpreter like a notebook: running a cell first runs the
// earlier cells that have not run yet in the current interpreter.

import { CrashedError, PythonSession, StoppedError } from "./python-session.js";

const settings = JSON.parse(document.getElementById("guide-settings")?.textContent || "{}");
const session = new PythonSession(settings);
let queue = Promise.resolve(); // one run at a time: cells share an interpreter

function button(text, className, title) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = `pycell-button ${className}`;
  el.textContent = text;
  el.title = title;
  return el;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

// A cell may print without end (a loop the reader wrote, say). Each block of
// text keeps its first HEAD_LINES and last TAIL_LINES lines and counts the
// lines between, so the page stays responsive however much is printed.
const HEAD_LINES = 200;
const TAIL_LINES = 300;
const LINE_CHARS = 10_000; // a line longer than this is cut too

class CappedText {
  constructor() {
    this.head = [];
    this.tail = [];
    this.line = ""; // the line being written (no newline yet)
    this.hiddenLines = 0;
    this.hiddenChars = 0;
  }

  add(text) {
    const parts = text.split("\n");
    this.extendLine(parts[0]);
    for (const part of parts.slice(1)) {
      this.endLine();
      this.extendLine(part);
    }
  }

  extendLine(text) {
    const room = LINE_CHARS - this.line.length;
    if (text.length > room) this.hiddenChars += text.length - Math.max(room, 0);
    if (room > 0) this.line += text.slice(0, room);
  }

  endLine() {
    const line = this.hiddenChars ? `${this.line} … (${this.hiddenChars} more characters)` : this.line;
    this.line = "";
    this.hiddenChars = 0;
    if (this.head.length < HEAD_LINES) return void this.head.push(line);
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) {
      this.tail.shift();
      this.hiddenLines += 1;
    }
  }

  // Fill `pre` with the kept text, and a marked line where lines were dropped.
  showIn(pre) {
    const lines = (list) => list.map((line) => line + "\n").join("");
    const last = this.hiddenChars ? `${this.line} … (${this.hiddenChars} more characters)` : this.line;
    if (!this.hiddenLines) return void (pre.textContent = lines(this.head) + lines(this.tail) + last);
    const marker = document.createElement("span");
    marker.className = "pycell-truncated";
    marker.textContent = `… output truncated, ${this.hiddenLines} lines hidden …\n`;
    pre.replaceChildren(lines(this.head), marker, lines(this.tail) + last);
  }
}

// The same markup as sitebuild/cells.py render_items(); text is capped (above).
function renderItem(item) {
  if (item.type === "html") {
    const div = document.createElement("div");
    div.className = "pycell-html";
    div.innerHTML = item.html; // the reader's own code's output, on their own page
    return div;
  }
  const pre = document.createElement("pre");
  pre.className = `pycell-${item.type}`;
  pre.capped = new CappedText();
  pre.capped.add(item.text);
  pre.capped.showIn(pre);
  return pre;
}

class Cell {
  constructor(el, index, page) {
    this.el = el;
    this.index = index;
    this.page = page;
    this.original = JSON.parse(el.querySelector(".pycell-src").textContent);
    this.needs = (el.dataset.needs || "").split(" ").filter(Boolean);
    this.output = el.querySelector(".pycell-output");
    this.code = el.querySelector(".pycell-code");
    this.editor = null;
    this.ranInGeneration = 0;

    const bar = el.querySelector(".pycell-bar");
    this.status = document.createElement("span");
    this.status.className = "pycell-status";
    this.status.setAttribute("aria-live", "polite");
    this.runButton = button("Run", "pycell-run", "Run this cell (Shift+Enter in the editor)");
    this.stopButton = button("Stop", "pycell-stop", "Stop the running cell (restarts Python)");
    this.resetButton = button("Reset", "pycell-reset", "Restore the original code");
    this.stopButton.disabled = true;
    const buttons = document.createElement("span");
    buttons.className = "pycell-buttons";
    buttons.append(this.runButton, this.stopButton, this.resetButton);
    bar.append(this.status, buttons);

    this.runButton.addEventListener("click", () => this.page.runUpTo(this));
    this.stopButton.addEventListener("click", () => this.page.stop());
    this.resetButton.addEventListener("click", () => this.reset());

    // The static code becomes an editor on first click or Enter.
    // A focusable group, not a button: it holds Material's copy button, and
    // its accessible name should not hide the code it contains.
    this.code.tabIndex = 0;
    this.code.setAttribute("role", "group");
    this.code.setAttribute("aria-roledescription", "editable code");
    this.code.title = "Click or press Enter to edit";
    this.code.addEventListener("click", (event) => {
      if (!event.target.closest(".md-clipboard")) this.openEditor();
    });
    this.code.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.openEditor();
      }
    });
  }

  source() {
    return this.editor ? this.editor.state.doc.toString() : this.original;
  }

  async openEditor() {
    if (this.editor || this.openingEditor) return;
    this.openingEditor = true;
    this.setStatus("Loading the editor…");
    try {
      const { createEditor, setText } = await import("./editor.js");
      // Kept so that Reset acts at once, in the click, with no await in between.
      this.setEditorText = setText;
      const holder = document.createElement("div");
      holder.className = "pycell-editor";
      this.code.after(holder);
      this.editor = await createEditor(holder, this.original, {
        onRun: () => this.page.runUpTo(this),
        label: `Python code of cell ${this.index + 1}`,
      });
      this.code.hidden = true;
      this.editor.focus();
      this.setStatus("");
    } catch (err) {
      this.setStatus(`The editor could not load (${err.message}); the code can still be run as it is.`);
    } finally {
      this.openingEditor = false;
    }
  }

  reset() {
    if (this.editor) this.setEditorText(this.editor, this.original);
    this.setStatus("Original code restored.");
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  setRunning(running) {
    this.el.classList.toggle("running", running);
    this.stopButton.disabled = !running;
    this.runButton.disabled = running;
  }

  notice(text) {
    let el = this.el.querySelector(".pycell-notice");
    if (!el) {
      el = document.createElement("p");
      el.className = "pycell-notice";
      el.setAttribute("role", "status");
      this.output.before(el);
    }
    el.textContent = text;
  }

  clearNotice() {
    this.el.querySelector(".pycell-notice")?.remove();
  }

  showItems(items) {
    this.output.replaceChildren(...items.map(renderItem));
    this.output.dataset.origin = "browser";
  }

  // Live text while the cell runs; the final item list replaces it when done.
  stream(kind, text) {
    if (this.output.dataset.origin !== "browser") this.showItems([]);
    const last = this.output.lastElementChild;
    if (last && last.classList.contains(`pycell-${kind}`) && last.capped) {
      last.capped.add(text);
      last.capped.showIn(last);
    } else {
      this.output.append(renderItem({ type: kind, text }));
    }
  }

  // Run this cell's current source in the session; returns true if no error.
  async execute() {
    const started = performance.now();
    this.setStatus("Running…");
    this.clearNotice();
    let streamed = false;
    const items = await session.run(this.source(), this.index, (kind, text) => {
      if (!streamed) this.showItems([]);
      streamed = true;
      this.stream(kind, text);
    });
    this.showItems(items);
    this.ranInGeneration = session.generation;
    const failed = items.some((item) => item.type === "error");
    this.setStatus(`${failed ? "Failed" : "Ran"} in ${seconds(performance.now() - started)}`);
    return !failed;
  }
}

class Page {
  constructor(elements) {
    this.cells = elements.map((el, i) => new Cell(el, i, this));
  }

  runUpTo(cell) {
    queue = queue.then(() => this.run(cell));
    return queue;
  }


  // Get the interpreter ready for `cell` (index = cells.length for a widget
  // after the last cell): packages loaded, earlier cells run. Returns null when
  // ready, or a sentence saying why it is not. `report` shows progress.
  async prepare(index, needs, report) {
    await session.start(report);
    if (needs.length) {
      report(`Loading ${needs.join(", ")}…`);
      const loaded = await session.load(needs);
      if (!loaded.ok) {
        return `${loaded.failed.join(", ")} could not be downloaded for the in-browser Python (you may be offline), ` +
          "so this cannot run here; the output shown is the one computed when the site was built.";
      }
    }
    this.ranFirst = this.cells.slice(0, index).filter((c) => c.ranInGeneration !== session.generation);
    for (const previous of this.ranFirst) {
      report(`Running cell ${previous.index + 1} first…`);
      if (!(await previous.execute())) {
        return `Cell ${previous.index + 1} above failed, so this was not run. Fix or reset it first.`;
      }
    }
    return null;
  }

  async run(cell) {
    cell.setRunning(true);
    cell.clearNotice();
    try {
      const problem = await this.prepare(cell.index, cell.needs, (text) => cell.setStatus(text));
      if (problem) {
        cell.setStatus("");
        cell.notice(problem);
        return;
      }
      await cell.execute();
      const earlier = this.ranFirst;
      if (earlier.length) {
        const which = earlier.length === 1 ? `cell ${earlier[0].index + 1}` : `cells ${earlier[0].index + 1}–${earlier.at(-1).index + 1}`;
        cell.setStatus(`${cell.status.textContent} (ran ${which} first)`);
      }
    } catch (err) {
      if (err instanceof StoppedError) {
        cell.showItems([{ type: "error", text: STOPPED_MESSAGE }]);
        cell.setStatus("Stopped");
      } else if (err instanceof CrashedError) {
        cell.showItems([{ type: "error", text: `${err.message}.\n${RESTARTED}` }]);
        cell.setStatus("Python stopped");
      } else {
        cell.setStatus("");
        cell.notice(`Python could not run: ${err.message}. The output below is the one computed when the site was built.`);
      }
    } finally {
      cell.setRunning(false);
    }
  }

  // Widgets (e.g. the live-training demo) run their code after the page's
  // cells, in the same interpreter, one run at a time like the cells.
  runAfterCells(code, needs, report) {
    const job = queue.then(async () => {
      const problem = await this.prepare(this.cells.length, needs, report);
      if (problem) throw new Error(problem);
      return session.run(code, this.cells.length);
    });
    queue = job.catch(() => {});
    return job;
  }

  stop() {
    session.stop();
  }
}

const RESTARTED = "Variables from earlier cells are gone; the next Run re-runs them.\n";
const STOPPED_MESSAGE = `Stopped: the cell was interrupted and Python restarted.\n${RESTARTED}`;

export { CrashedError, session, StoppedError };
export const page = new Page([...document.querySelectorAll(".pycell")]);
