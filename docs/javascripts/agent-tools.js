// The agent's tools and loop, in the page: a port of model_export/agent.py.
//
// Read agent.py's docstring for the transcript format and the tools'
// semantics; the tests (tests/test_agent_tools_js.py) check that both give
// identical observations for the same input, hostile input included.
//
//   calculator("sqrt(11)")                 // "3.32"
//   search("Lionel Messi goals 2023", kb)  // "Lionel Messi scored 11 goals in 2023."
//                                          // kb: the build's assets/model/knowledge.json
//   await runAgent(generate, question, makeTools(kb), {maxSteps, jsonFn})
//   await runQuestion(generate, question, tools, options) // runAgent, plus the stop when
//                                                         // the transcript outgrows the context
//
// An ES module whose imports are the chat format and schema.js's validate(); it
// runs in the browser and in Node.

import { ASSISTANT, chatPrompt, EOT, TOOL, USER } from "./chat.js";
import { validate } from "./schema.js";

// ---------------------------------------------------------------------------
// Calculator

export const MAX_EXPRESSION = 200; // characters (code points)
export const MAX_DEPTH = 30;
export const MAX_EXPONENT = 1000;
export const MAX_VALUE = 1e15;
const FUNCTIONS = ["sqrt", "abs", "round"];

class CalcError extends Error {}

const CALC_TOKEN = /[0-9]+(?:\.[0-9]+)?|\.[0-9]+|[A-Za-z_][A-Za-z0-9_]*|\*\*|[-+*/^(),]|[ \t]+/y;

function calcTokens(text) {
  const out = [];
  let pos = 0;
  while (pos < text.length) {
    CALC_TOKEN.lastIndex = pos;
    const m = CALC_TOKEN.exec(text);
    if (m === null) {
      const c = String.fromCodePoint(text.codePointAt(pos));
      const shown = c >= "!" && c <= "~" ? ` '${c}'` : "";
      throw new CalcError(`unexpected character${shown}`);
    }
    if (!/^[ \t]+$/.test(m[0])) out.push(m[0]);
    pos = CALC_TOKEN.lastIndex;
  }
  return out;
}

function check(v) {
  if (!(Math.abs(v) <= MAX_VALUE)) throw new CalcError("number too large");
  return v;
}

function power(base, n) {
  if (n !== Math.floor(n)) throw new CalcError("exponent must be a whole number");
  if (Math.abs(n) > MAX_EXPONENT) throw new CalcError("exponent too large");
  const k = Math.abs(n);
  let acc = 1.0;
  for (let i = 0; i < k; i++) acc = check(acc * base);
  if (n < 0) {
    if (acc === 0) throw new CalcError(base === 0 ? "division by zero" : "number too large");
    acc = check(1 / acc);
  }
  return acc;
}

function roundHalfAway(v) {
  const a = Math.abs(v);
  let r = Math.floor(a);
  if (a - r >= 0.5) r += 1;
  return v < 0 ? -r : r;
}

class Parser {
  constructor(tokens) {
    this.t = tokens;
    this.i = 0;
    this.depth = 0;
  }

  peek() {
    return this.i < this.t.length ? this.t[this.i] : null;
  }

  take() {
    const tok = this.peek();
    if (tok === null) throw new CalcError("unexpected end of expression");
    this.i++;
    return tok;
  }

  expect(want) {
    const tok = this.take();
    if (tok !== want) throw new CalcError(`expected '${want}' but found '${tok}'`);
  }

  expr() {
    let v = this.term();
    while (this.peek() === "+" || this.peek() === "-") {
      const op = this.take();
      const w = this.term();
      v = check(op === "+" ? v + w : v - w);
    }
    return v;
  }

  term() {
    let v = this.unary();
    while (this.peek() === "*" || this.peek() === "/") {
      const op = this.take();
      const w = this.unary();
      if (op === "*") v = check(v * w);
      else {
        if (w === 0) throw new CalcError("division by zero");
        v = check(v / w);
      }
    }
    return v;
  }

  unary() {
    this.depth++;
    if (this.depth > MAX_DEPTH) throw new CalcError("too deeply nested");
    let v;
    if (this.peek() === "-" || this.peek() === "+") {
      const op = this.take();
      v = this.unary();
      if (op === "-") v = -v;
    } else {
      v = this.power();
    }
    this.depth--;
    return v;
  }

  power() {
    const base = this.atom();
    if (this.peek() === "^" || this.peek() === "**") {
      this.take();
      return power(base, this.unary());
    }
    return base;
  }

  atom() {
    const tok = this.take();
    if (/^[0-9.]/.test(tok)) return check(Number(tok));
    if (tok === "(") {
      const v = this.expr();
      this.expect(")");
      return v;
    }
    if (/^[A-Za-z_]/.test(tok)) {
      if (!FUNCTIONS.includes(tok)) throw new CalcError(`unknown name '${tok}'`);
      this.expect("(");
      const x = this.expr();
      this.expect(")");
      if (tok === "sqrt") {
        if (x < 0) throw new CalcError("square root of a negative number");
        return Math.sqrt(x);
      }
      if (tok === "abs") return Math.abs(x);
      return roundHalfAway(x);
    }
    throw new CalcError(`unexpected '${tok}'`);
  }
}

function codePointLength(s, limit) {
  let n = 0;
  for (const _ of s) if (++n > limit) break; // eslint-disable-line no-unused-vars
  return n;
}

// The value of an expression; throws CalcError with the message.
export function evaluate(expression) {
  if (typeof expression !== "string") throw new CalcError("expression must be text");
  if (codePointLength(expression, MAX_EXPRESSION) > MAX_EXPRESSION) throw new CalcError("expression too long");
  const tokens = calcTokens(expression);
  if (!tokens.length) throw new CalcError("empty expression");
  const p = new Parser(tokens);
  const v = p.expr();
  if (p.peek() !== null) throw new CalcError(`unexpected '${p.peek()}'`);
  return v;
}

// 2 decimals, half away from zero on the exact value (toFixed), no trailing zeros.
export function formatNumber(v) {
  let s = v.toFixed(2);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s === "-0" || s === "" ? "0" : s;
}

// The calculator tool: the observation for an expression.
export function calculator(expression) {
  try {
    return formatNumber(evaluate(expression));
  } catch (e) {
    if (e instanceof CalcError) return `Error: ${e.message}`;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Search

export const MAX_QUERY_WORDS = 64;
const YEAR = /^(19|20)[0-9][0-9]$/;

export function words(text) {
  return (text.match(/[A-Za-z0-9]+/g) ?? []).map((w) => w.toLowerCase());
}

// The search tool: the best matching entry's text, or "No results.".
export function search(query, kb) {
  if (typeof query !== "string") return "No results.";
  const q = words(query).slice(0, MAX_QUERY_WORDS);
  const qset = new Set(q);
  const years = new Set(q.filter((w) => YEAR.test(w)).map(Number));
  let best = null, bestScore = null;
  for (const entry of kb) {
    let named = 0;
    for (const w of entry.names) if (qset.has(w)) named++;
    if (named === 0) continue;
    const year = entry.year;
    if (year !== null && years.size && !years.has(year)) continue;
    const related = entry.words.some((w) => qset.has(w)) ? 1 : 0;
    const dated = year !== null && years.has(year) ? 1 : 0;
    if (!related && !dated) continue;
    const score = [named, related, dated];
    if (bestScore === null || greater(score, bestScore)) {
      best = entry;
      bestScore = score;
    }
  }
  return best ? best.text : "No results.";
}

function greater(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}

// name -> function(argument) -> observation, for runAgent.
export function makeTools(kb) {
  return { search: (q) => search(q, kb), calculator };
}

// ---------------------------------------------------------------------------
// Tool calls and the agent loop

export const TOOL_SCHEMA = { anyOf: [
  { type: "object", properties: { tool: { const: "search" }, query: { type: "string" } },
    required: ["tool", "query"] },
  { type: "object", properties: { tool: { const: "calculator" }, expression: { type: "string" } },
    required: ["tool", "expression"] },
] };
export const TOOL_ARGUMENT = { search: "query", calculator: "expression" };
const STOP_STRINGS = ["\n", EOT, USER, ASSISTANT, TOOL];

// The canonical text of a call, as Python's json.dumps writes it.
export function toolCall(tool, argument) {
  return `{"tool": ${JSON.stringify(tool)}, "${TOOL_ARGUMENT[tool]}": ${JSON.stringify(argument)}}`;
}

// Cut generated text at the first newline or special token: [line, what ended it or null].
export function firstLine(text) {
  let cut = text.length, how = null;
  for (const s of STOP_STRINGS) {
    const i = text.indexOf(s);
    if (i !== -1 && i < cut) {
      cut = i;
      how = s;
    }
  }
  return [text.slice(0, cut), how];
}

export const MAX_JSON_DEPTH = 32; // nested arrays and objects in an action (a call needs 1)

// text without leading and trailing ASCII whitespace (" \t\n\r\f\v"), as agent.py's
// strip_ws: trim() would also remove U+FEFF and Python's strip() U+001C-U+001F and U+0085.
export function stripWs(text) {
  return text.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, "");
}

// The deepest nesting of [ and { outside strings, as agent.py's json_depth.
export function jsonDepth(text) {
  let depth = 0, deepest = 0, inString = false, escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "[" || ch === "{") deepest = Math.max(deepest, ++depth);
    else if (ch === "]" || ch === "}") depth--;
  }
  return deepest;
}

// JSON text -> value, as agent.py's parse_json (which makes json.loads follow
// JSON.parse: no NaN or Infinity) with the same depth limit. Throws Error with
// the observation-ready message.
export function parseJson(text) {
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new Error("Error: the action is nested too deeply");
  try {
    return JSON.parse(text);
  } catch {
    throw new Error("Error: the action is not valid JSON");
  }
}

// [tool, argument], or throws Error with the observation-ready message.
export function parseCall(text) {
  const value = parseJson(text);
  if (validate(value, TOOL_SCHEMA).length) throw new Error("Error: the action does not match the tool schema");
  return [value.tool, value[TOOL_ARGUMENT[value.tool]]];
}

// The agent loop, as run_agent in agent.py: generate(text) and jsonFn(text) may
// return strings or promises. Returns {transcript, steps, answer, stopped}.
export async function runAgent(generate, question, tools, { maxSteps = 4, jsonFn = null, maxLines = 4, onStep = null } = {}) {
  let text = chatPrompt(question);
  const steps = [];
  let calls = 0, lines = 0;
  const push = (step) => {
    steps.push(step);
    if (onStep) onStep(step, text);
  };
  const result = (answer, stopped) => ({ transcript: text, steps, answer, stopped });
  for (;;) {
    const [line, how] = firstLine(await generate(text));
    if (line.startsWith("Final Answer:")) {
      const answer = stripWs(line.slice("Final Answer:".length));
      text += line + EOT;
      push({ kind: "answer", text: answer });
      return result(answer, "final answer");
    }
    if (line.startsWith("{")) {
      if (calls >= maxSteps) return result(null, `stopped: the model asked for more than ${maxSteps} tool calls`);
      const call = jsonFn ? await jsonFn(text) : line;
      text += call + TOOL;
      calls++;
      lines = 0;
      let observation;
      try {
        const [tool, argument] = parseCall(call);
        if (!Object.prototype.hasOwnProperty.call(tools, tool)) throw new Error(`Error: unknown tool '${tool}'`);
        push({ kind: "action", text: call, tool, argument });
        observation = String(tools[tool](argument));
      } catch (e) {
        push({ kind: "action", text: call, tool: null, argument: null });
        observation = e.message;
      }
      text += observation + ASSISTANT;
      push({ kind: "observation", text: observation });
      continue;
    }
    if (how === "\n") {
      lines++;
      text += line + "\n";
      push({ kind: line.startsWith("Thought:") ? "thought" : "text", text: line });
      if (lines >= maxLines) return result(null, `stopped: ${maxLines} lines without an action or answer`);
      continue;
    }
    text += line + (how ?? "");
    push({ kind: "text", text: line });
    return result(null, how ? "stopped: the model ended its turn without an action or answer"
      : "stopped: the model's turn did not end (no newline or special token)");
  }
}

// The model's context is full: a generator throws this when the transcript it
// must read has more than blockSize tokens (agent_train.ContextFull).
export class ContextFull extends Error {
  constructor(blockSize) {
    super(`the transcript is longer than the ${blockSize}-token context`);
    this.name = "ContextFull";
  }
}

// The agent loop on one question, as agent_train.run_question: runAgent, except
// that a ContextFull from the model ends the run with
// {transcript: null, steps: [], answer: null, stopped: "stopped: the transcript is ..."}.
// (Python keeps nothing of a run that outgrew the context; the page shows what it saw via onStep.)
export async function runQuestion(generate, question, tools, options = {}) {
  try {
    return await runAgent(generate, question, tools, options);
  } catch (e) {
    if (e instanceof ContextFull) return { transcript: null, steps: [], answer: null, stopped: `stopped: ${e.message}` };
    throw e;
  }
}
