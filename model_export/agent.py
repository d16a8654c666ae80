"""Agents: two tools, transcripts that teach the tiny model to use them, and the agent loop.

An LLM becomes an agent when a loop around it runs the tools it asks for and
feeds back what they return. This module holds everything about that loop that
is not the model: the tools (a calculator and a search over the world's facts),
the transcripts that instruction tuning trains on, the evaluation questions, and
a reference agent loop. `docs/javascripts/agent-tools.js` is the same tools and
loop in JavaScript (the page runs the agent with those); the tests check that
both give identical observations for the same input.

Transcript format
-----------------
One transcript is one sequence (special tokens written as their strings):

    <|user|>How many goals did Lionel Messi score in 2023, and what is its square root?<|assistant|>{"tool": "search", "query": "Lionel Messi goals 2023"}<|tool|>Lionel Messi scored 11 goals in 2023.<|assistant|>{"tool": "calculator", "expression": "sqrt(11)"}<|tool|>3.32<|assistant|>Final Answer: 3.32<|endoftext|>

* Each assistant turn is either an action, the tool call as JSON ended by
  <|tool|>, or "Final Answer: ..." ended by <|endoftext|>: the model ends
  its own turn with a special token, and the loop writes the observation and
  "<|assistant|>" after <|tool|>. With thoughts=True each turn starts with a
  short "Thought: ...\n" line; off by default, because three thoughts cost
  about 40 tokens and a transcript must fit the 128-token context.
* The call is `json.dumps(call, ensure_ascii=False)`: keys in TOOL_SCHEMA's order
  ("tool" first), Python's default separators, so constrain.py's "spaced"
  layout accepts exactly these bytes. A call starts right after <|assistant|>
  (or a thought's newline), a pre-tokenizer chunk boundary, so the
  constrained decoder can take over at the first JSON token: no token
  straddles the text before and the "{".
* Parsing a call (`parse_call`, as agent-tools.js's parseCall): JSON as
  JSON.parse reads it (no NaN or Infinity, which json.loads would take; any
  number of digits), at most MAX_JSON_DEPTH nested arrays and objects (deeper
  text is an observation, not a RecursionError), then the tool schema. The
  final answer is stripped of ASCII whitespace only (`strip_ws`): str.strip()
  and JavaScript's trim() disagree on U+001C-U+001F, U+0085 and U+FEFF.
* Loss mask: `Transcript.segments` is a list of (text, trains) pairs whose
  texts concatenate to the transcript; trains is True exactly for what the
  assistant writes (thoughts, calls and their <|tool|>, the final answer and
  its <|endoftext|>), False for <|user|>, the question, <|assistant|> and
  the observations. Every segment boundary sits next to a special token, so
  encoding segment by segment gives the same ids as encoding the whole text
  (`encode_transcript` does that and returns a per-token mask).
* Length: with a 512-token BPE trained on the pre-training documents plus a
  few thousand transcripts (tokens such as '{"', '":', 'calculator'), the
  guide's example is 114 tokens and random-value transcripts at most about
  125 (see tests/model/test_agent.py, which prints the distribution). Trained
  on world text alone the BPE has no JSON merges and transcripts reach ~190.

Tools
-----
calculator(expression): numbers (123, 4.5, .5), + - * / ^ (or **), unary
minus and plus, parentheses, sqrt(x), abs(x), round(x); its own tokenizer and
recursive-descent parser, no eval. "^" is right-associative and binds tighter
than unary minus (-2^2 = -4); exponents must be whole numbers with |n| <= 1000
and are computed by repeated multiplication (so Python and JavaScript do
exactly the same float operations). Results: rounded to 2 decimals, half away
from zero on the double's exact value, trailing zeros and point stripped,
"-0" written "0": sqrt(11) -> "3.32", 7/2 -> "3.5", 6/3 -> "2", 0.1+0.2 -> "0.3".
Errors are observations: "Error: unknown name 'foo'", "Error: division by
zero", "Error: square root of a negative number", "Error: number too large"
(any literal or intermediate |x| > 1e15), "Error: expression too long" (over
200 characters), "Error: too deeply nested" (over 30 levels).

search(query, kb): the knowledge base is a list of entries built from the world
(`knowledge_base`), one per fact, each {"text", "names", "words", "year"}; the
build writes it to assets/model/knowledge.json for the page. The query is cut
into ASCII words ([A-Za-z0-9]+, lower-cased; the first 64 words count). An entry
matches if at least one of its name words is in the query and either one of
its relation words or its year is; an entry with a year is skipped when the
query names other years (4-digit numbers 1900-2099) but not its own. Best match
wins by (name words matched, relation matched, year matched), ties going to the
earlier entry; its text is the observation, else "No results.".

Training data and evaluation
----------------------------
`agent_transcripts(world, n, rng, random_values=True)`: n transcripts over the
question shapes in TRAIN_SHAPES. With random_values, players, countries, years,
goal counts, capitals, languages and currencies are invented fresh on every
call (never a player or country of the world), so what follows <|tool|> can
only be predicted by copying it; without, the facts are the world's, for the
entities in the training split only. Invented names mix syllable words,
random consonant-vowel words and real words of the world (first and last
names, capitals, animals), and invented values are half real values of other
countries: a model tuned only on syllable names learns to write syllable names
rather than to copy, and garbles real ones ("Italy" became "Malin"); fully
random letter strings made copying harder to learn and were dropped
(agent_train.py says more). The held-out split (`held_out(world)`: Lionel Messi, every fifth player, every fifth
country) never appears in any transcript, and neither does the shape
"goals_cube" ("... and what is that number cubed?"), whose parts the
calculator-only "What is 7 cubed?" teaches. `eval_questions(world)` gives the
evaluation items with the answer the real tools give on the real world.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from model_export.chat import ASSISTANT, EOT, TOOL, USER
from model_export.schema import validate
from model_export.decoding import sample
from model_export.world import LEG_WORDS, TEMPLATES, World, a_or_an, sentence

# ---------------------------------------------------------------------------
# Calculator

MAX_EXPRESSION = 200   # characters (code points)
MAX_DEPTH = 30         # nested parentheses / unary signs / function calls
MAX_EXPONENT = 1000
MAX_VALUE = 1e15
FUNCTIONS = ("sqrt", "abs", "round")


class CalcError(Exception):
    pass


_CALC_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+|[A-Za-z_][A-Za-z0-9_]*|\*\*|[-+*/^(),]|[ \t]+")


def _calc_tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _CALC_TOKEN.match(text, pos)
        if m is None:
            c = text[pos]
            shown = f" '{c}'" if "!" <= c <= "~" else ""
            raise CalcError(f"unexpected character{shown}")
        if not m.group().isspace():
            out.append(m.group())
        pos = m.end()
    return out


def _check(v: float) -> float:
    if not abs(v) <= MAX_VALUE:
        raise CalcError("number too large")
    return v


def _power(base: float, n: float) -> float:
    if n != math.floor(n):
        raise CalcError("exponent must be a whole number")
    if abs(n) > MAX_EXPONENT:
        raise CalcError("exponent too large")
    k = int(abs(n))
    acc = 1.0
    for _ in range(k):
        acc = _check(acc * base)
    if n < 0:
        if acc == 0:
            raise CalcError("division by zero" if base == 0 else "number too large")
        acc = _check(1 / acc)
    return acc


def _round_half_away(v: float) -> float:
    a = abs(v)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return float(-r if v < 0 else r)


class _Parser:
    def __init__(self, tokens: list[str]):
        self.t, self.i, self.depth = tokens, 0, 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self):
        tok = self.peek()
        if tok is None:
            raise CalcError("unexpected end of expression")
        self.i += 1
        return tok

    def expect(self, want: str):
        tok = self.take()
        if tok != want:
            raise CalcError(f"expected '{want}' but found '{tok}'")

    def expr(self) -> float:
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            w = self.term()
            v = _check(v + w if op == "+" else v - w)
        return v

    def term(self) -> float:
        v = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            w = self.unary()
            if op == "*":
                v = _check(v * w)
            else:
                if w == 0:
                    raise CalcError("division by zero")
                v = _check(v / w)
        return v

    def unary(self) -> float:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalcError("too deeply nested")
        if self.peek() in ("-", "+"):
            op = self.take()
            v = self.unary()
            v = -v if op == "-" else v
        else:
            v = self.power()
        self.depth -= 1
        return v

    def power(self) -> float:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            return _power(base, self.unary())
        return base

    def atom(self) -> float:
        tok = self.take()
        if tok[0].isdigit() or tok[0] == ".":
            return _check(float(tok))
        if tok == "(":
            v = self.expr()
            self.expect(")")
            return v
        if tok[0].isalpha() or tok[0] == "_":
            if tok not in FUNCTIONS:
                raise CalcError(f"unknown name '{tok}'")
            self.expect("(")
            x = self.expr()
            self.expect(")")
            if tok == "sqrt":
                if x < 0:
                    raise CalcError("square root of a negative number")
                return math.sqrt(x)
            if tok == "abs":
                return abs(x)
            return _round_half_away(x)
        raise CalcError(f"unexpected '{tok}'")


def evaluate(expression: str) -> float:
    """The value of an expression (a float); raises CalcError with the message."""
    if not isinstance(expression, str):
        raise CalcError("expression must be text")
    if len(expression) > MAX_EXPRESSION:
        raise CalcError("expression too long")
    tokens = _calc_tokens(expression)
    if not tokens:
        raise CalcError("empty expression")
    p = _Parser(tokens)
    v = p.expr()
    if p.peek() is not None:
        raise CalcError(f"unexpected '{p.peek()}'")
    return v


def format_number(v: float) -> str:
    """2 decimals, half away from zero on the exact value, no trailing zeros: 3.3166 -> "3.32"."""
    s = str(Decimal(v).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    s = s.rstrip("0").rstrip(".") if "." in s else s
    return "0" if s in ("-0", "0", "") else s


def calculator(expression: str) -> str:
    """The calculator tool: the observation for an expression (a number or "Error: ...")."""
    try:
        return format_number(evaluate(expression))
    except CalcError as e:
        return f"Error: {e}"


# ---------------------------------------------------------------------------
# Search

MAX_QUERY_WORDS = 64
_WORD = re.compile(r"[A-Za-z0-9]+")
_YEAR = re.compile(r"(19|20)[0-9][0-9]")

# Relation -> the words that ask for it. "goals" entries also match their year.
RELATION_WORDS = {
    "capital": ["capital", "city"],
    "continent": ["continent"],
    "language": ["language", "languages", "speak", "spoken"],
    "currency": ["currency", "money", "pay"],
    "nationality": ["nationality", "country", "from"],
    "club": ["club", "team"],
    "position": ["position", "role"],
    "goals": ["goals", "goal", "scored", "score"],
    "sound": ["sound", "say", "says"],
    "legs": ["legs", "leg"],
    "habitat": ["habitat", "live", "lives", "home"],
    "diet": ["diet", "eat", "eats", "food"],
    "color": ["color", "colour"],
    "taste": ["taste", "tastes", "flavor"],
    "kind": ["kind", "type"],
}


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def goals_sentence(player: str, n: int, year: int) -> str:
    """The canonical goals fact: "Lionel Messi scored 11 goals in 2023." (search's answer)."""
    return sentence(TEMPLATES["goals"][0], player=player, year=year, goals=f"{n} goal" if n == 1 else f"{n} goals")


def country_sentence(relation: str, country: str, value: str) -> str:
    return sentence(TEMPLATES[relation][0], country=country, **{relation: value})


def knowledge_base(world: World) -> list[dict]:
    """Every fact of the world as a search entry (JSON-ready; see the module docstring)."""
    kb = []

    def add(name, relation, text, year=None):
        kb.append({"text": text, "names": words(name), "words": RELATION_WORDS[relation], "year": year})

    for c in world.countries:
        for rel in ("capital", "continent", "language", "currency"):
            add(c.name, rel, country_sentence(rel, c.name, getattr(c, rel)))
    for p in world.players:
        fields = dict(player=p.name, country=p.country, club=p.club, position=p.position)
        for rel in ("nationality", "club", "position"):
            add(p.name, rel, sentence(TEMPLATES[rel][0], **fields))
        for year, n in p.goals:
            add(p.name, "goals", goals_sentence(p.name, n, year), year)
    for a in world.animals:
        fields = dict(animal=a.name, a_animal=a_or_an(a.name), sound=a.sound, legs=LEG_WORDS[a.legs],
                      habitat=a.habitat, diet=a.diet)
        for rel in ("sound", "legs", "habitat", "diet"):
            add(a.name, rel, sentence(TEMPLATES[rel][0], **fields))
    for f in world.foods:
        fields = dict(food=f.name, a_food=a_or_an(f.name), color=f.color, taste=f.taste, kind=f.kind)
        for rel in ("color", "taste", "kind"):
            add(f.name, rel, sentence(TEMPLATES[rel][0], **fields))
    return kb


def search(query: str, kb: list[dict]) -> str:
    """The search tool: the best matching entry's text, or "No results."."""
    if not isinstance(query, str):
        return "No results."
    q = words(query)[:MAX_QUERY_WORDS]
    qset = set(q)
    years = {int(w) for w in q if _YEAR.fullmatch(w)}
    best, best_score = None, None
    for entry in kb:
        named = sum(1 for w in entry["names"] if w in qset)
        if named == 0:
            continue
        year = entry["year"]
        if year is not None and years and year not in years:
            continue
        related = 1 if any(w in qset for w in entry["words"]) else 0
        dated = 1 if year is not None and year in years else 0
        if not related and not dated:
            continue
        score = (named, related, dated)
        if best_score is None or score > best_score:
            best, best_score = entry, score
    return best["text"] if best else "No results."


def make_tools(world: World | None = None, kb: list[dict] | None = None) -> dict:
    """name -> function(argument) -> observation, for run_agent."""
    if kb is None:
        kb = knowledge_base(world)
    return {"search": lambda q: search(q, kb), "calculator": calculator}


# ---------------------------------------------------------------------------
# Tool calls

TOOL_SCHEMA = {"anyOf": [
    {"type": "object", "properties": {"tool": {"const": "search"}, "query": {"type": "string"}},
     "required": ["tool", "query"]},
    {"type": "object", "properties": {"tool": {"const": "calculator"}, "expression": {"type": "string"}},
     "required": ["tool", "expression"]},
]}
TOOL_ARGUMENT = {"search": "query", "calculator": "expression"}


def tool_call(tool: str, argument: str) -> str:
    """The canonical text of a call: {"tool": "search", "query": "..."}."""
    return json.dumps({"tool": tool, TOOL_ARGUMENT[tool]: argument}, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Transcripts

THOUGHTS = False


@dataclass
class Transcript:
    segments: list  # [(text, trains: bool)], concatenating to the transcript
    shape: str
    answer: str     # the final answer

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.segments)


def build_transcript(question: str, steps: list, answer: str, shape: str = "", thoughts=None) -> Transcript:
    """steps: [(tool, argument, observation)]; thoughts: one line per assistant turn, or None."""
    segs = [(USER, False), (question, False), (ASSISTANT, False)]
    for k, (tool, arg, obs) in enumerate(steps):
        t = f"Thought: {thoughts[k]}\n" if thoughts else ""
        segs += [(t + tool_call(tool, arg), True), (TOOL, True), (obs, False), (ASSISTANT, False)]
    t = f"Thought: {thoughts[len(steps)]}\n" if thoughts else ""
    segs += [(f"{t}Final Answer: {answer}", True), (EOT, True)]
    return Transcript(segs, shape, answer)


def encode_transcript(tokenizer, transcript: Transcript):
    """(ids, trains): token ids of the transcript and, per id, whether the loss covers predicting it."""
    ids, mask = [], []
    for text, trains in transcript.segments:
        part = tokenizer.encode(text, allow_special=True)
        ids += part
        mask += [trains] * len(part)
    return ids, mask


# Question shapes. Goals shapes: (question template, expression template, thought).
GOALS_QUESTION = "How many goals did {p} score in {y}"
TWO_STEP = {
    "goals_sqrt": (GOALS_QUESTION + ", and what is its square root?", "sqrt({n})", "now the square root."),
    "goals_square": (GOALS_QUESTION + ", and what is that number squared?", "{n}^2", "now square it."),
    "goals_plus": (GOALS_QUESTION + ", plus {k}?", "{n} + {k}", "now add {k}."),
    "goals_times": (GOALS_QUESTION + ", times {k}?", "{n} * {k}", "now multiply by {k}."),
    "goals_cube": (GOALS_QUESTION + ", and what is that number cubed?", "{n}^3", "now cube it."),
}
CALC_ONLY = [
    ("What is {a} times {b}?", "{a} * {b}"),
    ("What is {a} plus {b}?", "{a} + {b}"),
    ("What is {a} minus {b}?", "{a} - {b}"),
    ("What is {c} divided by {b}?", "{c} / {b}"),
    ("What is the square root of {a}?", "sqrt({a})"),
    ("What is {a} squared?", "{a}^2"),
    ("What is {a} cubed?", "{a}^3"),
]
COUNTRY_QUESTIONS = {
    "capital": "What is the capital of {c}?",
    "language": "What language do people speak in {c}?",
    "currency": "What is the currency of {c}?",
}
DIRECT = [
    ("Hello!", "Hello! Ask me about goals, countries or math."),
    ("Hi!", "Hi! Ask me about goals, countries or math."),
    ("Thank you!", "You are welcome."),
    ("Thanks!", "You are welcome."),
    ("Who are you?", "I am a tiny language model with a search tool and a calculator."),
    ("What can you do?", "I can search facts and use a calculator."),
    ("Goodbye!", "Goodbye!"),
]
TRAIN_SHAPES = {"goals_sqrt": 3, "goals_square": 2, "goals_plus": 3, "goals_times": 3, "goals_search": 2,
                "country_search": 2, "calc_only": 3, "direct": 1}  # shape -> weight
HELD_OUT_SHAPES = ("goals_cube",)
SEARCH_THOUGHTS = {"goals": "search the goals.", "capital": "search the capital.",
                   "language": "search the language.", "currency": "search the currency."}


class Split(NamedTuple):
    players: tuple   # player names never used in training transcripts
    countries: tuple


def held_out(world: World) -> Split:
    """The entities kept out of training transcripts: Lionel Messi, every fifth player and country."""
    players = [p.name for p in world.players]
    countries = [c.name for c in world.countries]
    return Split(tuple(["Lionel Messi"] + players[5::5]), tuple(countries[2::5]))


def _rand_word(rng: random.Random) -> str:
    from model_export.world import SYLLABLES
    return "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()


_VOWELS, _CONSONANTS = "aeiou", "bcdfghjklmnprstvwz"


def _letters(rng: random.Random) -> str:
    """A random consonant-vowel word of 4-8 letters ("Bakotu"): its BPE pieces are arbitrary."""
    word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))
    return word.capitalize()


class _Pools(NamedTuple):
    words: list      # name-like words of the world, none of them a held-out name
    capitals: list
    languages: list
    currencies: list


def _pools(world: World) -> _Pools:
    """Surface forms for invented names and values: real-looking words make the
    copying the model learns work on the real world's names too."""
    from model_export.world import FIRST_NAMES, LAST_NAMES
    split = held_out(world)
    banned = {w for name in split.players + split.countries for w in name.split()}
    keep = lambda values: sorted({v for v in values if not set(v.split()) & banned})
    parts = [w for c in world.countries for w in c.capital.split()] + FIRST_NAMES + LAST_NAMES
    parts += [a.name.capitalize() for a in world.animals] + [f.name.split()[-1].capitalize() for f in world.foods]
    return _Pools(keep(parts), keep(c.capital for c in world.countries), keep(c.language for c in world.countries),
                  keep(c.currency for c in world.countries))


def _name_part(rng: random.Random, pools: _Pools) -> str:
    u = rng.random()
    if u < 0.3:
        return _rand_word(rng)
    if u < 0.6:
        return _letters(rng)
    return rng.choice(pools.words)


def _random_player(rng: random.Random, taken: set, pools: _Pools) -> str:
    while True:
        name = f"{_name_part(rng, pools)} {_name_part(rng, pools)}"
        if name not in taken:
            return name


def _random_country(rng: random.Random, taken: set, pools: _Pools) -> str:
    while True:
        name = _name_part(rng, pools) + rng.choice(["", "", "", "ia", "land", "stan"])
        if rng.random() < 0.15:
            name = rng.choice(["New", "South", "North", "East", "West", "Saint"]) + " " + name
        if name not in taken:
            return name


def _random_value(relation: str, rng: random.Random, pools: _Pools) -> str:
    """An invented capital, language or currency: half real values of other countries, half made up."""
    real = rng.random() < 0.5
    if relation == "capital":
        return rng.choice(pools.capitals) if real else _name_part(rng, pools)
    if relation == "language":
        return rng.choice(pools.languages) if real else _name_part(rng, pools) + rng.choice(["ish", "ese", "ian", "i"])
    return rng.choice(pools.currencies) if real else _name_part(rng, pools).lower()


def goals_transcript(shape: str, player: str, year: int, n: int, k: int = 0, thoughts=None) -> Transcript:
    obs = goals_sentence(player, n, year)
    if shape == "goals_search":
        return build_transcript(GOALS_QUESTION.format(p=player, y=year) + "?",
                                [("search", f"{player} goals {year}", obs)], str(n), shape,
                                ["search the goals.", "copy the number."] if thoughts else None)
    question, expr, thought = TWO_STEP[shape]
    expression = expr.format(n=n, k=k)
    result = calculator(expression)
    return build_transcript(question.format(p=player, y=year, k=k),
                            [("search", f"{player} goals {year}", obs), ("calculator", expression, result)],
                            result, shape,
                            ["search the goals.", thought.format(k=k), "copy the result."] if thoughts else None)


def country_transcript(relation: str, country: str, value: str, thoughts=None) -> Transcript:
    obs = country_sentence(relation, country, value)
    return build_transcript(COUNTRY_QUESTIONS[relation].format(c=country),
                            [("search", f"{country} {relation}", obs)], value, "country_search",
                            [SEARCH_THOUGHTS[relation], "copy the answer."] if thoughts else None)


def calc_transcript(rng: random.Random, thoughts=None) -> Transcript:
    question, expr = rng.choice(CALC_ONLY)
    a, b = rng.randint(2, 99), rng.randint(2, 19)
    c = b * rng.randint(1, 20) if rng.random() < 0.7 else rng.randint(2, 999)
    expression = expr.format(a=a, b=b, c=c)
    result = calculator(expression)
    return build_transcript(question.format(a=a, b=b, c=c), [("calculator", expression, result)], result,
                            "calc_only", ["use the calculator.", "copy the result."] if thoughts else None)


def agent_transcripts(world: World, n: int, rng: random.Random, random_values: bool = True,
                      shapes: dict | None = None, thoughts: bool | None = None) -> list[Transcript]:
    """n training transcripts (see the module docstring); rng is a random.Random."""
    thoughts = THOUGHTS if thoughts is None else thoughts
    shapes = shapes or TRAIN_SHAPES
    names, weights = list(shapes), list(shapes.values())
    split = held_out(world)
    train_players = [p for p in world.players if p.name not in split.players]
    train_countries = [c for c in world.countries if c.name not in split.countries]
    taken = {p.name for p in world.players} | {c.name for c in world.countries}
    pools = _pools(world)
    out = []
    for _ in range(n):
        shape = rng.choices(names, weights)[0]
        if shape in TWO_STEP or shape == "goals_search":
            # the second operand: half the time two digits, so it must be copied, not guessed
            k = rng.randint(2, 9) if rng.random() < 0.5 else rng.randint(10, 99)
            if random_values:
                player, year, goals = _random_player(rng, taken, pools), rng.randint(1950, 2030), rng.randint(0, 99)
            else:
                p = rng.choice(train_players)
                player, year = p.name, rng.choice(world.years)
                goals = p.goals_in(year)
            out.append(goals_transcript(shape, player, year, goals, k, thoughts))
        elif shape == "country_search":
            relation = rng.choice(list(COUNTRY_QUESTIONS))
            if random_values:
                country = _random_country(rng, taken, pools)
                value = _random_value(relation, rng, pools)
            else:
                c = rng.choice(train_countries)
                country, value = c.name, getattr(c, relation)
            out.append(country_transcript(relation, country, value, thoughts))
        elif shape == "calc_only":
            out.append(calc_transcript(rng, thoughts))
        elif shape == "direct":
            question, answer = rng.choice(DIRECT)
            out.append(build_transcript(question, [], answer, "direct", ["no tool needed."] if thoughts else None))
        else:
            raise ValueError(f"unknown shape {shape!r}")
    return out


def bpe_texts(world: World, n: int, seed: str = "bpe-agent") -> list[str]:
    """The text of n transcripts, special tokens left out, for the tokenizer's
    training set: enough JSON for merges such as '{"' and '":'. They state the
    world's true facts (random_values=False), so the tokenizer, and with it
    the whole build, does not change when the invented values of the tuning
    transcripts are tuned."""
    specials = {USER, ASSISTANT, TOOL, EOT}
    return [text for t in agent_transcripts(world, n, random.Random(seed), random_values=False)
            for text, _ in t.segments if text not in specials]


class EvalItem(NamedTuple):
    question: str
    answer: str     # what the real tools give on the real world
    shape: str
    split: str      # "held_out_entity", "held_out_shape" or "train_entity"


def eval_questions(world: World) -> list[EvalItem]:
    """Evaluation questions; answers come from running the real tools on the real world.

    The first item is the guide's example (Lionel Messi, 2023, square root: 3.32).
    """
    tools = make_tools(world)
    split = held_out(world)
    rng = random.Random("agent-eval")
    items = []

    def goals_item(shape, player, year, tag):
        k = rng.randint(2, 9)
        obs = tools["search"](f"{player} goals {year}")
        n = int(re.search(r"scored (\d+) goal", obs).group(1))
        if shape == "goals_search":
            return EvalItem(GOALS_QUESTION.format(p=player, y=year) + "?", str(n), shape, tag)
        question, expr, _ = TWO_STEP[shape]
        return EvalItem(question.format(p=player, y=year, k=k), tools["calculator"](expr.format(n=n, k=k)), shape, tag)

    items.append(goals_item("goals_sqrt", "Lionel Messi", 2023, "held_out_entity"))
    train_players = [p.name for p in world.players if p.name not in split.players]
    for shape in ["goals_sqrt", "goals_square", "goals_plus", "goals_times", "goals_search"]:
        for name in split.players:
            items.append(goals_item(shape, name, rng.choice(world.years), "held_out_entity"))
    for name in split.players:
        items.append(goals_item("goals_cube", name, rng.choice(world.years), "held_out_shape"))
    for name in rng.sample(train_players, 10):
        items.append(goals_item(rng.choice(["goals_sqrt", "goals_plus", "goals_search"]), name,
                                rng.choice(world.years), "train_entity"))
    for name in split.countries:
        for relation, q in COUNTRY_QUESTIONS.items():
            items.append(EvalItem(q.format(c=name), getattr(world.country(name), relation), "country_search",
                                  "held_out_entity"))
    return items


# ---------------------------------------------------------------------------
# The agent loop

STOP_STRINGS = ("\n", EOT, USER, ASSISTANT, TOOL)


def first_line(text: str) -> tuple[str, str | None]:
    """Cut generated text at the first newline or special token: (line, what ended it or None)."""
    cut, how = len(text), None
    for s in STOP_STRINGS:
        i = text.find(s)
        if i != -1 and i < cut:
            cut, how = i, s
    return text[:cut], how


MAX_JSON_DEPTH = 32  # nested arrays and objects in an action (a call needs 1)
WHITESPACE = " \t\n\r\f\v"  # what strip_ws removes; str.strip() and JS trim() disagree beyond ASCII


def strip_ws(text: str) -> str:
    """text without leading and trailing ASCII whitespace, exactly as agent-tools.js's stripWs."""
    return text.strip(WHITESPACE)


def json_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings (counted before parsing, so nothing recurses)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str):
    # Python refuses to convert more than 4300 digits; JSON.parse reads any length as a double.
    return int(digits) if len(digits) <= 4000 else float(digits)


def parse_json(text: str):
    """JSON text -> value with JSON.parse's rules (as agent-tools.js's parseJson): no NaN or
    Infinity (json.loads would accept them), at most MAX_JSON_DEPTH levels deep (deeper text would
    make json.loads raise RecursionError). Raises ValueError with the observation-ready message."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValueError("Error: the action is nested too deeply")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except ValueError:
        raise ValueError("Error: the action is not valid JSON") from None


def parse_call(text: str):
    """(tool, argument) or raise ValueError with the observation-ready message."""
    value = parse_json(text)
    if validate(value, TOOL_SCHEMA):
        raise ValueError("Error: the action does not match the tool schema")
    tool = value["tool"]
    return tool, value[TOOL_ARGUMENT[tool]]


def run_agent(generate_fn, question: str, tools: dict, max_steps: int = 4, json_fn=None,
              max_lines: int = 4) -> dict:
    """Run the agent loop on a question.

    generate_fn(text) -> str continues the transcript `text` (special tokens as
    strings); only its first line counts: up to a newline or a special token,
    which a model wrapper should stop at (`token_generate_fn` does). A line
    starting with "{" is an action; with json_fn (constrained decoding, see
    `constrained_json_fn`) the call is then rewritten by json_fn(text), which
    must return valid JSON for TOOL_SCHEMA; without, the line is parsed as it is,
    and a bad one becomes an error observation the model sees. At most
    max_steps tool calls, and max_lines thought lines in a row.
    tools: name -> function(argument) -> observation.

    Returns {"transcript", "steps": [{"kind": "thought" | "action" | "observation"
    | "answer" | "text", "text", ...}], "answer": str or None, "stopped": reason}.
    """
    text = USER + question + ASSISTANT
    steps, calls, lines = [], 0, 0
    while True:
        line, how = first_line(generate_fn(text))
        if line.startswith("Final Answer:"):
            answer = strip_ws(line[len("Final Answer:"):])
            text += line + EOT
            steps.append({"kind": "answer", "text": answer})
            return _result(text, steps, answer, "final answer")
        if line.startswith("{"):
            if calls >= max_steps:
                return _result(text, steps, None, f"stopped: the model asked for more than {max_steps} tool calls")
            call = json_fn(text) if json_fn is not None else line
            text += call + TOOL
            calls, lines = calls + 1, 0
            try:
                tool, argument = parse_call(call)
                if tool not in tools:
                    raise ValueError(f"Error: unknown tool '{tool}'")
                steps.append({"kind": "action", "text": call, "tool": tool, "argument": argument})
                observation = str(tools[tool](argument))
            except ValueError as e:
                steps.append({"kind": "action", "text": call, "tool": None, "argument": None})
                observation = str(e)
            steps.append({"kind": "observation", "text": observation})
            text += observation + ASSISTANT
            continue
        if how == "\n":  # a thought (or other text) line: the turn goes on
            lines += 1
            text += line + "\n"
            steps.append({"kind": "thought" if line.startswith("Thought:") else "text", "text": line})
            if lines >= max_lines:
                return _result(text, steps, None, f"stopped: {max_lines} lines without an action or answer")
            continue
        text += line + (how or "")
        steps.append({"kind": "text", "text": line})
        return _result(text, steps, None, "stopped: the model ended its turn without an action or answer"
                       if how else "stopped: the model's turn did not end (no newline or special token)")


def _result(text, steps, answer, stopped) -> dict:
    return {"transcript": text, "steps": steps, "answer": answer, "stopped": stopped}


def token_generate_fn(logits_fn, tokenizer, rng, temperature: float = 0.0, max_tokens: int = 64):
    """A generate_fn for run_agent from a model: logits_fn(ids) -> logits (numpy) over the vocabulary.

    Samples with decoding.sample (greedy when temperature <= 0; rng: a
    decoding.XorShift) until the text holds a newline or a special token is
    drawn, at most max_tokens tokens.
    """
    special = {v: k for k, v in tokenizer.special_ids.items()}

    def generate(text: str) -> str:
        ids = tokenizer.encode(text, allow_special=True)
        out = []
        for _ in range(max_tokens):
            tok = sample(logits_fn(ids + out), rng, temperature)
            if tok in special:
                return tokenizer.decode(out) + special[tok]
            out.append(tok)
            if b"\n" in tokenizer.token_bytes(tok):
                break
        return tokenizer.decode(out)
    return generate


def constrained_json_fn(logits_fn, tokenizer, rng, temperature: float = 0.0, max_tokens: int = 64):
    """A json_fn for run_agent: the tool call by constrain.py's decoder over TOOL_SCHEMA."""
    from model_export.constrain import ConstrainedDecoder, generate
    from model_export.grammar import compile_schema

    decoder = ConstrainedDecoder(compile_schema(TOOL_SCHEMA), tokenizer)

    def write(text: str) -> str:
        prefix = tokenizer.encode(text, allow_special=True)
        return generate(lambda ids: logits_fn(prefix + ids), decoder, rng, temperature, max_tokens)["text"]
    return write
