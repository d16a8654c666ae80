// Score answers with the reward model: the reader types a question and a few
// candidate answers, and the build's reward model (model_reward.onnx: align.py's
// reward model, exported by export.py) scores each one in the page.
//
// Markup (registered in widgets.js, so this module loads only on pages that have it):
//
//   <div class="lab reward-scorer" data-question="What is the capital of France?"
//        data-answers='["The capital of France is Paris.", "Paris."]'></div>
//
// or, with a row of example buttons above the question (each click fills in its
// question and answers and scores them at once; the first one starts loaded, and
// data-question/data-answers are then ignored; an invalid data-presets is ignored):
//
//   <div class="lab reward-scorer" data-presets='[
//        {"label": "A capital", "question": "What is the capital of France?",
//         "answers": ["The capital of France is Paris.", "Paris."]},
//        {"label": "A rude request", "question": "Say something rude about the French.",
//         "answers": ["I won&#39;t say rude things about anyone.", "The French are rude."]}]'></div>
//
// The reward model reads a whole conversation and returns two numbers per answer:
//
// * reward: the score it was trained to give (Bradley-Terry on ranked pairs):
//   higher means "raters would prefer this answer"; only differences between
//   answers to the same question mean anything;
// * confidence: the mean natural-log probability its own language-model head
//   gives the answer's tokens, end-of-text included (the reward uses it too:
//   reward = w . hidden + b + u * confidence). exp(confidence) is the
//   geometric-mean probability per token.
//
// Each conversation is built exactly as align.reward_batch builds it (see
// conversation() below), so the page's numbers are Python's (the browser test
// compares them with onnxruntime in Python). Question and answer are stripped
// of surrounding whitespace first, as the answers the reward model was trained
// and evaluated on were (align.py strips every decoded reply).
//
// Nothing heavy loads with the page: the reward model, the tokenizer and ONNX
// Runtime load on the first Score click, with progress; a failed load names the
// file. Later clicks reuse the loaded session.
//
// For tests the root carries data-state (idle, loading, scoring, done, error,
// invalid) and, after a score, data-results: JSON, one entry per answer in the
// order of the inputs, {answer, reward, confidence, ids, answerStart, cut}.

import { LoadError, modelFile } from "./assets.js";
import { chatPrompt } from "./chat.js";
import { el, loadWithStatus, yieldToBrowser } from "./dom.js";
import { checkTokenizer, loadOrt, loadTokenizer, SESSION_OPTIONS } from "./model-runtime.js";
import { readOnnx } from "./onnx-reader.js";
import { Widget } from "./widget.js";

export const REWARD_FILE = "model_reward.onnx";
const FORMAT = "llm-guide-reward-v1"; // export.to_onnx's metadata for a graph with the reward head
const MAX_ANSWERS = 8;
const MAX_CHARS = 2000; // per input: far past the context window already

const DEFAULT_QUESTION = "What is the capital of France?";
const DEFAULT_ANSWERS = [
  "The capital of France is Paris.",
  "Paris.",
  "The capital of France is Rome.",
  "I don't know a country called France.",
];

let uid = 0;

// ---------------------------------------------------------------------------
// The conversation, as Python builds it (pure functions: tests/js/reward_bridge.mjs)

// Python's str.strip(): the characters str.isspace() accepts. JavaScript's
// trim() differs on a few (it keeps U+001C..U+001F and U+0085, drops U+FEFF).
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

export function pyStrip(text) {
  return text.replace(PY_STRIP, "");
}

// align.reward_batch for one (question, answer): the prompt is sft.encode_prompt
// (the chat template, typed special tokens allowed: "<|user|>" in the question
// is the real token, as in training), then the answer as plain text (no special
// tokens), then end-of-text. A conversation longer than the context keeps its
// last blockSize tokens, and answerStart moves with it (at least 1: position 0
// predicts nothing). Returns {ids, answerStart, cut (tokens dropped from the
// front), promptTokens, answerTokens (end-of-text included)}.
export function conversation(tok, question, answer, blockSize, eotId = tok.eotId) {
  const prompt = tok.encode(chatPrompt(question), { allowSpecial: true });
  const all = [...prompt, ...tok.encode(answer), eotId];
  const cut = Math.max(0, all.length - blockSize);
  return {
    ids: all.slice(cut),
    answerStart: Math.max(1, prompt.length - cut),
    cut,
    promptTokens: prompt.length,
    answerTokens: all.length - prompt.length,
  };
}

// data-presets, parsed: [{label, question, answers}] (at most MAX_ANSWERS answers
// each), or null when it is missing or not such a list, all strings non-blank (an
// author's typo: the widget then uses data-question and data-answers, as without presets).
export function parsePresets(text) {
  if (text === undefined || text === null) return null;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const nonEmpty = (x) => typeof x === "string" && x.trim() !== "";
  const valid = (p) => p !== null && typeof p === "object" && nonEmpty(p.label) && nonEmpty(p.question)
    && Array.isArray(p.answers) && p.answers.length > 0 && p.answers.every(nonEmpty);
  if (!Array.isArray(parsed) || !parsed.length || !parsed.every(valid)) return null;
  return parsed.map((p) => ({ label: p.label, question: p.question, answers: p.answers.slice(0, MAX_ANSWERS) }));
}

// ---------------------------------------------------------------------------
// Loading: one reward model per page, whoever asks

let rewardPromise = null;

class RewardModel {
  constructor(ort, session, tokenizer, metadata) {
    this.ort = ort;
    this.session = session;
    this.tokenizer = tokenizer;
    this.blockSize = Number(metadata.block_size);
    this.eotId = "eot_id" in metadata ? Number(metadata.eot_id) : tokenizer.eotId;
  }

  // One conversation (B = 1): {reward, confidence, ms}.
  async score(ids, answerStart) {
    const { Tensor } = this.ort;
    const input = new Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
    const start = new Tensor("int64", BigInt64Array.of(BigInt(answerStart)), [1]);
    const t0 = performance.now();
    const out = await this.session.run({ input_ids: input, answer_start: start }, ["reward", "confidence"]);
    return { reward: out.reward.data[0], confidence: out.confidence.data[0], ms: performance.now() - t0 };
  }
}

// onProgress({file, loaded, total, done}) as ONNX Runtime and the model download.
export function loadRewardModel(onProgress) {
  if (!rewardPromise) {
    rewardPromise = (async () => {
      const [ort, tokenizer, bytes] = await Promise.all([
        loadOrt(onProgress),
        loadTokenizer(),
        modelFile(REWARD_FILE, { onProgress }),
      ]);
      const { metadata } = readOnnx(bytes, [], REWARD_FILE); // a LoadError naming the file if unreadable
      checkTokenizer(tokenizer, { metadata, tensors: {} }, REWARD_FILE);
      if (metadata.format !== FORMAT) {
        throw new LoadError(REWARD_FILE, `it is not a reward model (its format is ${metadata.format || "not given"}, not ${FORMAT})`);
      }
      if (!(Number(metadata.block_size) > 1)) throw new LoadError(REWARD_FILE, "its metadata lacks block_size");
      let session;
      try {
        session = await ort.InferenceSession.create(new Uint8Array(bytes), SESSION_OPTIONS);
      } catch (err) {
        throw new LoadError(REWARD_FILE, `onnxruntime could not open it (${err.message || err})`);
      }
      return new RewardModel(ort, session, tokenizer, metadata);
    })();
    rewardPromise.catch(() => { rewardPromise = null; }); // a later click may succeed
  }
  return rewardPromise;
}

// ---------------------------------------------------------------------------
// Formatting

// Two decimals with a sign ("+1.23", "−0.50"); a value that rounds to zero has none.
export function signed(x) {
  if (!Number.isFinite(x)) return String(x);
  const s = Math.abs(x).toFixed(2);
  if (s === "0.00") return s;
  return `${x < 0 ? "−" : "+"}${s}`;
}

// exp(mean log-prob) as a percentage.
export function perToken(confidence) {
  const p = Math.exp(confidence) * 100;
  if (!Number.isFinite(p)) return "?";
  if (p < 0.1) return "<0.1%";
  return `${p.toFixed(p < 10 ? 1 : 0)}%`;
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------------------------------------------------------------------------
// The widget

class Scorer extends Widget {
  constructor(root) {
    super(root, "Press Score. The first press downloads the reward model and ONNX Runtime, the engine that runs it.",
      { statusClass: "rs-status" });
    this.model = null;
    this.build();
    this.controls = [this.scoreBtn, ...this.presetBtns];
    if (this.presets.length) {
      this.say("Press Score, or pick an example. The first press downloads the reward model and ONNX Runtime, "
        + "the engine that runs it.");
    }
  }

  build() {
    const d = this.root.dataset;
    this.root.textContent = "";
    const questionId = `rs-question-${++uid}`;
    this.answersLabelId = `rs-answers-${uid}`;
    this.question = el("input", { id: questionId, type: "text", class: "lab-prompt rs-question", maxlength: MAX_CHARS, spellcheck: false });
    this.question.value = d.question ?? DEFAULT_QUESTION;
    this.list = el("ol", { class: "rs-answers", "aria-labelledby": this.answersLabelId });
    this.addBtn = el("button", { type: "button", class: "lab-button rs-add", onclick: () => this.addAnswer("", true) }, "Add an answer");
    this.scoreBtn = el("button", { type: "button", class: "lab-button lab-primary rs-score", onclick: () => this.score() }, "Score");
    this.notes = el("div", { class: "lab-notice rs-notes", role: "note", hidden: true });
    this.tbody = el("tbody");
    this.table = el("table", { class: "rs-table" },
      el("caption", {}, "The reward model's scores, highest reward first"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", title: "the answer's number in the list above" }, "No."),
        el("th", { scope: "col" }, "Answer"),
        el("th", { scope: "col" }, "Reward"),
        el("th", { scope: "col" }, "Confidence", el("small", { class: "rs-th-note" }, "mean log-prob, per token")))),
      this.tbody);
    this.results = el("div", { class: "rs-results", hidden: true },
      el("div", { class: "lab-scroll rs-scroll" }, this.table),
      el("p", { class: "rs-legend" },
        "Reward: the reward model's score; higher means the raters it learned from would prefer the answer, "
        + "and only differences between answers to the same question mean anything. Confidence: how likely "
        + "the language model inside the reward model finds the answer, as the mean log-probability of its tokens "
        + "(end-of-text included), and per token: the exponential of that mean, the geometric mean of the tokens' probabilities."));

    this.question.addEventListener("input", () => this.edited());
    this.question.addEventListener("keydown", (e) => this.enterScores(e));

    let answers = DEFAULT_ANSWERS;
    if (d.answers !== undefined) {
      try {
        const parsed = JSON.parse(d.answers);
        if (Array.isArray(parsed) && parsed.length && parsed.every((a) => typeof a === "string")) answers = parsed;
      } catch {
        // an author's typo in data-answers: the default example, not a broken widget
      }
    }

    // Presets: a named group of toggle buttons; the pressed one is the example shown.
    const presets = parsePresets(d.presets) ?? [];
    const presetsLabelId = `rs-presets-${uid}`;
    this.presetBtns = presets.map((p, i) => el("button", {
      type: "button", class: "lab-button lab-example rs-preset", "aria-pressed": "false",
      onclick: () => this.usePreset(i),
    }, p.label));
    this.presets = presets;
    const presetBox = presets.length
      ? el("div", { class: "lab-examples rs-presets", role: "group", "aria-labelledby": presetsLabelId },
        el("span", { id: presetsLabelId }, "Examples:"), this.presetBtns)
      : null;
    if (presets.length) {
      this.question.value = presets[0].question;
      answers = presets[0].answers;
    }
    for (const a of answers.slice(0, MAX_ANSWERS)) this.addAnswer(a, false);
    this.markPreset(presets.length ? 0 : -1);

    this.root.append(
      presetBox,
      el("label", { for: questionId, class: "lab-label" }, "Question"),
      this.question,
      el("span", { id: this.answersLabelId, class: "lab-label" }, "Candidate answers (edit them, add or remove one)"),
      this.list,
      el("div", { class: "lab-buttons" }, this.addBtn, this.scoreBtn),
      this.status,
      this.notes,
      this.results,
    );
  }

  // --- the answer inputs ------------------------------------------------------

  rows() {
    return Array.from(this.list.children);
  }

  addAnswer(text, focus) {
    if (this.rows().length >= MAX_ANSWERS) return;
    const input = el("input", { type: "text", class: "lab-prompt rs-answer", maxlength: MAX_CHARS, spellcheck: false });
    input.value = text;
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      this.edited();
    });
    input.addEventListener("keydown", (e) => this.enterScores(e));
    const label = el("label", { class: "rs-answer-label" }, el("span", { class: "rs-sr-only" }, "Answer "), el("span", { class: "rs-answer-no" }));
    const remove = el("button", { type: "button", class: "lab-button rs-remove" }, "Remove");
    const row = el("li", { class: "rs-answer-row" }, label, input, remove);
    remove.addEventListener("click", () => this.removeAnswer(row));
    this.list.append(row);
    this.renumber();
    if (focus) input.focus();
    this.edited();
  }

  removeAnswer(row) {
    const rows = this.rows();
    if (rows.length <= 1) return;
    const at = rows.indexOf(row);
    row.remove();
    this.renumber();
    // keep the keyboard where it was: the next answer's Remove, else the previous one's
    // (the last answer left cannot be removed: then its input)
    const left = this.rows();
    const next = left[Math.min(at, left.length - 1)];
    next.querySelector(left.length > 1 ? ".rs-remove" : ".rs-answer").focus();
    this.edited();
  }

  // Labels, ids and the Add/Remove buttons' availability follow the rows.
  renumber() {
    const rows = this.rows();
    rows.forEach((row, i) => {
      const id = `${this.answersLabelId}-${i + 1}`;
      const input = row.querySelector(".rs-answer");
      input.id = id;
      const label = row.querySelector(".rs-answer-label");
      label.htmlFor = id;
      label.querySelector(".rs-answer-no").textContent = String(i + 1); // read as "Answer 2", shown as "2"
      const remove = row.querySelector(".rs-remove");
      remove.setAttribute("aria-label", `Remove answer ${i + 1}`);
      remove.disabled = rows.length <= 1;
    });
    this.addBtn.disabled = rows.length >= MAX_ANSWERS;
  }

  enterScores(e) {
    if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      this.score();
    }
  }

  // --- presets ----------------------------------------------------------------

  // The preset's question and answers replace the inputs, then score as Score does
  // (the first click is the one that loads the model).
  usePreset(i) {
    if (this.busy) return;
    const { question, answers } = this.presets[i];
    this.question.value = question;
    for (const row of this.rows()) row.remove();
    for (const a of answers) this.addAnswer(a, false);
    this.markPreset(i);
    this.score();
  }

  // aria-pressed: true on the preset shown (i), false on the others; -1 for none.
  markPreset(i) {
    this.presetBtns.forEach((b, k) => b.setAttribute("aria-pressed", String(k === i)));
  }

  // After an edit, the table describes inputs that are gone: say so (the numbers stay).
  // The inputs are no longer a preset's either.
  edited() {
    this.markPreset(-1);
    if (this.busy) return;
    const state = this.root.dataset.state;
    if (state === "done") this.say("Changed since the last score: press Score to score again.");
    if (state === "invalid") {
      this.setState("idle");
      this.say("Press Score.");
    }
  }

  // --- state ------------------------------------------------------------------

  setState(state) {
    super.setState(state);
    this.setBusy(state === "loading" || state === "scoring");
  }

  // The inputs, stripped, or null after saying what is missing.
  read() {
    const question = pyStrip(this.question.value);
    const inputs = this.rows().map((row) => row.querySelector(".rs-answer"));
    const answers = inputs.map((input) => pyStrip(input.value));
    if (!question) {
      this.invalid("Type a question first: the reward model scores an answer to a question.", this.question);
      return null;
    }
    const empty = answers.findIndex((a) => !a);
    if (empty >= 0) {
      inputs[empty].setAttribute("aria-invalid", "true");
      this.invalid(`Answer ${empty + 1} is empty: type an answer or remove it.`, inputs[empty]);
      return null;
    }
    return { question, answers };
  }

  invalid(message, input) {
    this.setState("invalid");
    this.say(message, true);
    input.focus();
  }

  async load() {
    if (this.model) return this.model;
    this.setState("loading");
    try {
      this.model = await loadWithStatus(this.status, "the reward model", loadRewardModel);
      return this.model;
    } catch (err) {
      this.setState("error"); // loadWithStatus wrote the message: which file failed, or why
      throw err;
    }
  }

  async score() {
    if (this.busy) return;
    const input = this.read();
    if (!input) return;
    let model = this.model;
    if (!model) {
      try {
        model = await this.load();
      } catch {
        return; // the status names the file that failed
      }
    }
    this.setState("scoring"); // (at once when the model is loaded: no stale "done" after the click)
    delete this.root.dataset.results;
    this.say(`Scoring ${plural(input.answers.length, "answer")}…`);
    const results = [];
    let ms = 0;
    try {
      for (const answer of input.answers) {
        const c = conversation(model.tokenizer, input.question, answer, model.blockSize, model.eotId);
        const r = await model.score(c.ids, c.answerStart);
        ms += r.ms;
        results.push({ answer, reward: r.reward, confidence: r.confidence, ids: c.ids, answerStart: c.answerStart,
                       cut: c.cut, promptTokens: c.promptTokens, answerTokens: c.answerTokens });
        await yieldToBrowser();
      }
    } catch (err) {
      this.setState("error");
      this.say(`Scoring failed: ${err.message || err}.`, true);
      return;
    }
    this.show(results, model.blockSize);
    this.root.dataset.results = JSON.stringify(results.map(({ answer, reward, confidence, ids, answerStart, cut }) =>
      ({ answer, reward, confidence, ids, answerStart, cut })));
    this.say(`Scored ${plural(results.length, "answer")} in ${ms.toFixed(ms < 10 ? 1 : 0)} ms (the model's time in this browser).`);
    this.setState("done");
  }

  // --- results ----------------------------------------------------------------

  show(results, blockSize) {
    const order = results.map((r, i) => i).sort((a, b) => results[b].reward - results[a].reward || a - b);
    const rewards = results.map((r) => r.reward);
    const lo = Math.min(...rewards);
    const hi = Math.max(...rewards);
    this.tbody.textContent = "";
    order.forEach((i, rank) => {
      const r = results[i];
      // the bar: the lowest reward in the table a sliver, the highest the full width
      const share = hi > lo ? (r.reward - lo) / (hi - lo) : 1;
      const width = `${(4 + 96 * share).toFixed(1)}%`;
      const top = rank === 0;
      const answerCell = el("td", { class: "rs-answer-text" },
        top && results.length > 1 ? el("strong", { class: "rs-top-mark" }, "Highest reward: ") : null,
        el("span", { class: "rs-text" }, r.answer),
        r.cut ? el("em", { class: "rs-cut-mark" }, " (too long: see the note above)") : null);
      this.tbody.append(el("tr", { class: top ? "rs-row rs-top" : "rs-row", "data-index": String(i) },
        el("td", { class: "rs-input-no" }, String(i + 1)),
        answerCell,
        el("td", { class: "rs-reward" },
          el("span", { class: "rs-num rs-reward-value" }, signed(r.reward)),
          el("span", { class: "rs-bar-track", "aria-hidden": "true" }, el("span", { class: "rs-bar", style: { width } }))),
        el("td", { class: "rs-confidence-cell" },
          el("span", { class: "rs-num rs-confidence" }, signed(r.confidence)),
          el("span", { class: "rs-num rs-per-token" }, perToken(r.confidence)))));
    });
    this.results.hidden = false;
    this.showNotes(results, blockSize);
  }

  // A conversation longer than the context: the model read only its end (as in training).
  showNotes(results, blockSize) {
    this.notes.textContent = "";
    const cut = results.map((r, i) => [r, i]).filter(([r]) => r.cut > 0);
    this.notes.hidden = cut.length === 0;
    if (!cut.length) return;
    this.notes.append(el("p", {}, el("strong", {}, "Too long for the context window. "),
      `The model reads at most ${blockSize} tokens, so for a longer conversation it reads only the last ${blockSize}, `
      + "as in its training."));
    const list = el("ul", { class: "rs-cut-list" });
    for (const [r, i] of cut) {
      const total = r.promptTokens + r.answerTokens;
      const intoAnswer = r.cut - r.promptTokens;
      const lost = intoAnswer < 0
        ? `its first ${plural(r.cut, "token")} (the start of the question) were cut`
        : `the whole question${intoAnswer ? ` and the answer's first ${plural(intoAnswer, "token")}` : ""} were cut, `
          + "so the model scored the answer without seeing the question";
      list.append(el("li", { class: "rs-cut" }, `Answer ${i + 1}: ${total} tokens; ${lost}.`));
    }
    this.notes.append(list);
  }
}

export function mountRewardScorer(root) {
  if (root.dataset.mounted) return null;
  root.dataset.mounted = "1";
  return new Scorer(root);
}
