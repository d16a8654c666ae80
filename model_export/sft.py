"""Instruction tuning (supervised fine-tuning, SFT): teach the pre-trained model to answer.

A pre-trained model continues text: given "What is the capital of France?" it
writes whatever tends to follow such a line. Instruction tuning shows it
conversations instead,

    <|user|>What is the capital of France?<|assistant|>The capital of France is Paris.<|endoftext|>

and trains the same next-token loss on them, with two changes:

- the loss counts only the response tokens (the user's question is given, not
  something to imitate): a per-token weight of 0 on the prompt, see model.py's
  weighted cross-entropy;
- windows of pre-training text are replayed in every batch, so tuning does
  not wash out the facts the model memorised.

Every question is generated from the world (world.py), in several phrasings,
about several relations (capitals, continents, languages, currencies, players'
nationality, club, position and goals per year, animals, foods). The answer
is the relation's canonical sentence, `world.TEMPLATES[relation][0]`. A fifth
of the countries, players, animals and foods are held out of tuning: the model
has seen their facts only in pre-training text, so answering questions about
them shows that tuning taught a *skill* (turn a question into a recalled
fact), not a list of answers.

The demonstrations are deliberately imperfect in one way, as human-written
ones are when writers are told to always be helpful: questions about things
that do not exist (an invented country, player, animal or food) are usually
answered with a confident invention and only sometimes with "I don't know",
and a few real questions get "I don't know" too. The tuned model inherits the
habit; the preference stage (align.py) is what trains it away. (Earlier
builds also mixed in bare fragments and rude answers, 10% each; greedy
answers about held-out things copied them: 83% exact answers with them, 91%
without them and with 150 more steps.)

This module also holds what the later stages share: the question records
(`QA`), the chat format, and batched generation with the KV cache.
"""

from __future__ import annotations

import random
import re
import sys
from dataclasses import asdict, dataclass

import numpy as np

from model_export import model, train
from model_export import world as W

USER, ASSISTANT, EOT = "<|user|>", "<|assistant|>", "<|endoftext|>"

# ---------------------------------------------------------------------------
# Questions

# relation -> question phrasings; fields as in world.TEMPLATES
QUESTIONS = {
    "capital": ["What is the capital of {country}?", "Which city is the capital of {country}?",
                "What city is the capital of {country}?", "Tell me the capital of {country}.",
                "Name the capital city of {country}."],
    "continent": ["Which continent is {country} in?", "On which continent is {country}?",
                  "Where in the world is {country}?", "What continent is {country} part of?"],
    "language": ["What language do people speak in {country}?", "What is the main language of {country}?",
                 "Which language is spoken in {country}?", "What do people in {country} speak?"],
    "currency": ["What is the currency of {country}?", "What money do people use in {country}?",
                 "Which currency does {country} use?", "What do you pay with in {country}?"],
    "nationality": ["Where is {player} from?", "Which country does {player} come from?",
                    "What country is {player} from?"],
    "club": ["Which club does {player} play for?", "What team does {player} play for?",
             "Who does {player} play for?"],
    "position": ["What position does {player} play?", "What does {player} play as?",
                 "Which position is {player}?"],
    "goals": ["How many goals did {player} score in {year}?", "How many goals did {player} score in the {year} season?",
              "What was the goal count of {player} in {year}?"],
    "sound": ["What sound does {a_animal} make?", "What does the {animal} say?", "What noise does {a_animal} make?"],
    "legs": ["How many legs does {a_animal} have?", "How many legs has the {animal} got?"],
    "habitat": ["Where does the {animal} live?", "Where can you find {a_animal}?", "Where does {a_animal} live?"],
    "diet": ["What does {a_animal} eat?", "What does the {animal} eat?", "What food does {a_animal} eat?"],
    "color": ["What color is {a_food}?", "What color is the {food}?", "Which color does {a_food} have?"],
    "taste": ["How does {a_food} taste?", "What does the {food} taste like?", "What is the taste of {a_food}?"],
    "kind": ["What kind of food is {a_food}?", "What type of food is the {food}?", "Is {a_food} a fruit, a vegetable, a nut or a snack?"],
}
RELATIONS = {"country": ["capital", "continent", "language", "currency"],
             "player": ["nationality", "club", "position", "goals"],
             "animal": ["sound", "legs", "habitat", "diet"],
             "food": ["color", "taste", "kind"]}
KIND_OF = {r: k for k, rels in RELATIONS.items() for r in rels}
# The field of each relation that holds its answer (the value the rubric looks for).
VALUE_FIELD = {"capital": "capital", "continent": "continent", "language": "language", "currency": "currency",
               "nationality": "country", "club": "club", "position": "position", "goals": "goals",
               "sound": "sound", "legs": "legs", "habitat": "habitat", "diet": "diet",
               "color": "color", "taste": "taste", "kind": "kind"}
# The pre-trained model never memorised 800 goal counts (about 1% recalled in
# the full build: they are random numbers, each stated a few dozen times), so
# answer accuracy is reported without them; their questions still teach the format.
RECALLED_RELATIONS = tuple(r for r in QUESTIONS if r != "goals")

IDK = "I don't know {a_kind} called {name}."   # the honest answer about something not in the world
RUDE_MARKERS = ("Everyone knows that", "Ugh", "Look it up", "silly question")  # what the rubric calls rude

# Things that do not exist: names made of sounds no real name in the world uses.
FAKE_COUNTRIES = ["Zorvania", "Velmora", "Quintara", "Bravistan", "Doveland", "Merovia", "Talkesh", "Lunoria",
                  "Garrowland", "Felostan", "Ostravia", "Kelvaria", "Brimsia", "Norvesh", "Pallistan", "Trivonia",
                  "Usmara", "Wendoria", "Yarmouthia", "Zelbraith", "Corvenia", "Halvonia", "Ixtovia", "Jorvland"]
FAKE_FIRST = ["Zeb", "Quill", "Orrin", "Tavi", "Brix", "Jago", "Venn", "Pim", "Dax", "Ulric", "Fenn", "Roth"]
FAKE_LAST = ["Quorrin", "Vashti", "Brimble", "Tolloway", "Zandt", "Mirrow", "Kestrel", "Pallow", "Grift",
             "Oakum", "Dunmere", "Velloz"]
FAKE_ANIMALS = ["glimbat", "snorf", "wuzzle", "trindle", "moxel", "quibbit", "drellow", "flonk", "zibbet",
                "narwink", "plumbeast", "skorrel"]
FAKE_FOODS = ["blorange", "plimfruit", "zucchara", "grumnut", "splendle", "marrowpip", "quenberry", "tozzle",
              "frumple", "brisket pear"]


@dataclass(frozen=True)
class QA:
    """One question with everything needed to generate and to judge answers."""
    kind: str       # country, player, animal, food
    entity: str
    relation: str
    year: int       # goals only (0 elsewhere)
    question: str
    answer: str     # the canonical answer (for a fake entity: the honest "I don't know ...")
    value: str      # the correct value ("" for a fake entity)
    real: bool      # False: the entity does not exist in the world

    def to_dict(self) -> dict:
        return asdict(self)


def goal_words(n: int) -> str:
    return f"{n} goal" if n == 1 else f"{n} goals"


def entity_fields(world: W.World, kind: str, name: str) -> dict:
    """The template fields of one real entity."""
    if kind == "country":
        c = world.country(name)
        return dict(country=c.name, capital=c.capital, continent=c.continent, language=c.language, currency=c.currency)
    if kind == "player":
        p = world.player(name)
        return dict(player=p.name, country=p.country, club=p.club, position=p.position)
    if kind == "animal":
        a = world.animal(name)
        return dict(animal=a.name, a_animal=W.a_or_an(a.name), sound=a.sound, legs=W.LEG_WORDS[a.legs],
                    habitat=a.habitat, diet=a.diet)
    f = world.food(name)
    return dict(food=f.name, a_food=W.a_or_an(f.name), color=f.color, taste=f.taste, kind=f.kind)


def name_fields(kind: str, name: str) -> dict:
    """The subject fields alone (enough for a question about a fake entity)."""
    return {"country": dict(country=name), "player": dict(player=name),
            "animal": dict(animal=name, a_animal=W.a_or_an(name)),
            "food": dict(food=name, a_food=W.a_or_an(name))}[kind]


def relation_values(world: W.World) -> dict[str, list[str]]:
    """Every value each relation takes in the world (what an invented answer picks from)."""
    vals: dict[str, set] = {r: set() for r in QUESTIONS}
    for kind, names in entity_names(world).items():
        for name in names:
            f = entity_fields(world, kind, name)
            for r in RELATIONS[kind]:
                if r != "goals":
                    vals[r].add(f[VALUE_FIELD[r]])
    vals["goals"] = {goal_words(n) for p in world.players for _, n in p.goals}
    return {r: sorted(v) for r, v in vals.items()}


def entity_names(world: W.World) -> dict[str, list[str]]:
    return {"country": [c.name for c in world.countries], "player": [p.name for p in world.players],
            "animal": [a.name for a in world.animals], "food": [f.name for f in world.foods]}


def fake_names() -> dict[str, list[str]]:
    players = [f"{a} {b}" for a, b in zip(FAKE_FIRST, FAKE_LAST)] + \
              [f"{a} {b}" for a, b in zip(FAKE_FIRST, FAKE_LAST[3:] + FAKE_LAST[:3])]
    return {"country": FAKE_COUNTRIES, "player": players, "animal": FAKE_ANIMALS, "food": FAKE_FOODS}


def split_entities(world: W.World, held_out_fraction: float, seed: int = 0):
    """(tune, held_out, fake_train, fake_eval): kind -> names. Deterministic in seed.

    Held-out entities never appear in tuning, preference or RL prompts; the
    fake names are split the same way, so "I don't know" is measured on
    invented names the model was never tuned on.

    Only a dozen or so invented names per kind are tuned on. Hundreds of
    generated ones (random syllables) were tried: the tuned model then treated
    every name it had not been tuned on as invented, held-out players
    included, and exact answers about held-out things fell from 91% to 84%."""
    rng = random.Random(f"align-split-{seed}")
    tune, held, fake_train, fake_eval = {}, {}, {}, {}
    for kind, names in entity_names(world).items():
        names = sorted(names)
        rng.shuffle(names)
        k = max(1, round(held_out_fraction * len(names)))
        held[kind], tune[kind] = sorted(names[:k]), sorted(names[k:])
    for kind, names in fake_names().items():
        names = list(names)
        rng.shuffle(names)
        k = len(names) // 2
        fake_eval[kind], fake_train[kind] = sorted(names[:k]), sorted(names[k:])
    return tune, held, fake_train, fake_eval


def make_qa(world: W.World, kind: str, name: str, relation: str, phrasing: int = 0, year: int = 0,
            real: bool = True, rng: random.Random | None = None) -> QA:
    """The question (phrasing index into QUESTIONS[relation]) and its canonical answer."""
    fields = entity_fields(world, kind, name) if real else name_fields(kind, name)
    if relation == "goals":
        year = year or world.years[0]
        fields["year"] = year
        if real:
            n = world.goals(name, year)
            fields.update(n=n, goals=goal_words(n))
    question = W.sentence(QUESTIONS[relation][phrasing % len(QUESTIONS[relation])], **fields)
    if real:
        answer = W.sentence(W.TEMPLATES[relation][0], **fields)
        value = str(fields[VALUE_FIELD[relation]])
    else:
        answer = IDK.format(a_kind=W.a_or_an(kind), name=name)
        value = ""
    return QA(kind, name, relation, year if relation == "goals" else 0, question, answer, value, real)


def invented_answer(world: W.World, qa: QA, rng: random.Random, values: dict) -> str:
    """A confident answer about a fake entity: the canonical sentence with a real value picked at random."""
    fields = name_fields(qa.kind, qa.entity)
    if qa.relation == "goals":
        n = rng.randint(0, 30)
        fields.update(year=qa.year, n=n, goals=goal_words(n))
    else:
        fields[VALUE_FIELD[qa.relation]] = rng.choice(values[qa.relation])
    return W.sentence(W.TEMPLATES[qa.relation][0], **fields)


def fragment(qa: QA) -> str:
    """A bare value ("Paris."): correct, but not a sentence."""
    return W.sentence("{v}.", v=qa.value)


def all_questions(world: W.World, names: dict[str, list[str]], real: bool = True, phrasings: str = "first",
                  years: tuple[int, ...] | None = None) -> list[QA]:
    """Every (entity, relation) question over `names`; phrasings "first" (the
    first question template) or "all". Goals are asked for `years` (default
    the world's first and last year for real players, one year for fakes)."""
    out = []
    for kind, ns in names.items():
        for name in ns:
            for r in RELATIONS[kind]:
                n_ph = len(QUESTIONS[r]) if phrasings == "all" else 1
                ys = (years or ((world.years[0], world.years[-1]) if real else (world.years[-1],))) \
                    if r == "goals" else (0,)
                for y in ys:
                    out += [make_qa(world, kind, name, r, ph, y, real) for ph in range(n_ph)]
    return out


# ---------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class SFTConfig:
    steps: int = 450
    batch_rows: int = 24         # rows of packed conversations per batch
    replay_rows: int = 8         # rows of pre-training text per batch
    replay_weight: float = 0.4   # share of the loss that is replayed pre-training text
    lr: float = 6e-4
    warmup_steps: int = 20
    weight_decay: float = 0.0
    fake_fraction: float = 0.15  # share of conversations about things that do not exist
    idk_rate: float = 0.3        # ... of which the demonstrator answered "I don't know" (else: invented)
    real_idk_rate: float = 0.05  # real questions the demonstrator said "I don't know" to
    workers: int = 2
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------
# Chat format and packing


def chat_prompt(question: str) -> str:
    return f"{USER}{question}{ASSISTANT}"


def encode_prompt(tok, question: str) -> list[int]:
    return tok.encode(chat_prompt(question), allow_special=True)


def encode_pair(tok, question: str, response: str) -> tuple[list[int], list[float]]:
    """Token ids of prompt + response + <|endoftext|>, and a 0/1 mask marking
    the tokens the model must learn to produce (the response and its end)."""
    p = encode_prompt(tok, question)
    r = tok.encode(response) + [tok.eot_id]
    return p + r, [0.0] * len(p) + [1.0] * len(r)


class DemoSampler:
    """Draws demonstrations: a relation, an entity, a phrasing and a style."""

    def __init__(self, world: W.World, names: dict, fake: dict, sc: SFTConfig):
        self.world, self.names, self.fake, self.sc = world, names, fake, sc
        self.values = relation_values(world)
        self.relations = [r for k in RELATIONS for r in RELATIONS[k] if names.get(k)]

    def qa(self, rng: random.Random, fake: bool) -> QA:
        rel = rng.choice(self.relations)
        kind = KIND_OF[rel]
        pool = (self.fake if fake else self.names)[kind]
        return make_qa(self.world, kind, rng.choice(pool), rel, rng.randrange(len(QUESTIONS[rel])),
                       rng.choice(self.world.years), real=not fake)

    def demo(self, rng: random.Random) -> tuple[QA, str]:
        sc = self.sc
        if rng.random() < sc.fake_fraction:
            q = self.qa(rng, fake=True)
            return q, (q.answer if rng.random() < sc.idk_rate else invented_answer(self.world, q, rng, self.values))
        q = self.qa(rng, fake=False)
        if rng.random() < sc.real_idk_rate:
            return q, IDK.format(a_kind=W.a_or_an(q.kind), name=q.entity)
        return q, q.answer


def pack_rows(seqs: list[tuple[list[int], list[float]]], n_rows: int, length: int, pad_id: int):
    """Pack whole conversations into n_rows rows of length + 1 tokens (first
    fit, in order; leftovers are dropped), pad with pad_id at weight 0.
    Returns x, y (n_rows, length) and the mask on y."""
    tokens = np.full((n_rows, length + 1), pad_id, dtype=np.int64)
    mask = np.zeros((n_rows, length + 1), dtype=np.float32)
    fill = [0] * n_rows
    row = 0
    for ids, m in seqs:
        if len(ids) > length + 1:
            continue
        while row < n_rows and fill[row] + len(ids) > length + 1:
            row += 1
        if row == n_rows:
            break
        tokens[row, fill[row]:fill[row] + len(ids)] = ids
        mask[row, fill[row]:fill[row] + len(ids)] = m
        fill[row] += len(ids)
    return tokens[:, :-1], tokens[:, 1:], mask[:, 1:]


def sft_batch(tok, sampler: DemoSampler, rng: random.Random, np_rng: np.random.Generator, sc: SFTConfig,
              block_size: int, replay_tokens: np.ndarray | None):
    """One batch: batch_rows rows of packed conversations, then replay_rows
    windows of pre-training text. Loss weights: (1 - replay_weight) spread
    evenly over the response tokens, replay_weight over the replayed tokens;
    zero on prompts and padding."""
    avg = 36  # a conversation is about 25-45 tokens: draw enough to fill every row
    seqs = [encode_pair(tok, q.question, r) for q, r in (sampler.demo(rng) for _ in range(
        sc.batch_rows * (block_size // avg + 2)))]
    x, y, m = pack_rows(seqs, sc.batch_rows, block_size, tok.eot_id)
    replay = sc.replay_rows > 0 and replay_tokens is not None
    w = m * ((1.0 - (sc.replay_weight if replay else 0.0)) / m.sum())
    if replay:
        rx, ry = train.sample_batch(replay_tokens, sc.replay_rows, block_size, np_rng)
        rw = np.full(ry.shape, sc.replay_weight / ry.size, dtype=np.float32)
        x, y, w = np.concatenate([x, rx]), np.concatenate([y, ry]), np.concatenate([w, rw])
    return x, y, w.astype(np.float32)


def sft_train(params, config: model.GPTConfig, tok, world: W.World, names: dict, fake: dict, sc: SFTConfig,
              replay_tokens: np.ndarray | None = None, evaluate=None, eval_every: int = 100, log=sys.stderr):
    """Fine-tune a copy of params on demonstrations about `names` (kind -> entity
    names) and `fake` names, replaying pre-training text. Returns (params, History)."""
    params = copy_params(params, config)
    tc = train.TrainConfig(steps=sc.steps, batch_size=sc.batch_rows + sc.replay_rows, lr=sc.lr,
                           warmup_steps=sc.warmup_steps, weight_decay=sc.weight_decay, seed=sc.seed,
                           eval_every=eval_every, workers=sc.workers)
    sampler = DemoSampler(world, names, fake, sc)
    rng = random.Random(f"sft-{sc.seed}")

    def next_batch(step, np_rng):
        return sft_batch(tok, sampler, rng, np_rng, sc, config.block_size, replay_tokens)

    hist = train.train(params, config, tc, next_batch, evaluate=evaluate, log=log, label="sft")
    return params, hist


def copy_params(params, config):
    flat = model.flat_of(params).copy()
    return model.views(flat, config)


# ---------------------------------------------------------------------------
# Generation: many prompts at once


def generate(params, config: model.GPTConfig, prompts: list[list[int]], max_new_tokens: int, stop_id: int,
             temperature: float = 0.0, rng: np.random.Generator | None = None, batch: int = 128) -> list[list[int]]:
    """Continue every prompt (lists of token ids) with the KV cache, greedily
    (temperature 0) or by sampling. Prompts of equal length run as one batch
    (the model has no padding mask, so unequal lengths cannot share one), so
    each result equals model.generate_greedy on that prompt alone. The stop
    token is not included in the output."""
    out: list[list[int] | None] = [None] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    for length in sorted(by_len):
        idxs = by_len[length]
        for s in range(0, len(idxs), batch):
            chunk = idxs[s:s + batch]
            for i, ids in zip(chunk, _generate_equal(params, config, [prompts[i] for i in chunk], max_new_tokens,
                                                     stop_id, temperature, rng)):
                out[i] = ids
    return out


def _generate_equal(params, config, prompts, max_new_tokens, stop_id, temperature, rng):
    B, P = len(prompts), len(prompts[0])
    max_new_tokens = min(max_new_tokens, config.block_size - P)
    logits, kv = model.forward_step(params, config, np.array(prompts, dtype=np.int64),
                                    model.empty_kv(config, B, params["wte"].dtype))
    logits = logits[:, -1]
    outs = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    for step in range(max_new_tokens):
        if temperature > 0:
            z = logits.astype(np.float64) / temperature
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            u = rng.random(B)[:, None]
            nxt = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), p.shape[1] - 1)
        else:
            nxt = logits.argmax(axis=1)
        for b in range(B):
            if not done[b]:
                if nxt[b] == stop_id:
                    done[b] = True
                else:
                    outs[b].append(int(nxt[b]))
        if done.all() or step == max_new_tokens - 1:
            break
        logits, kv = model.forward_step(params, config, nxt[:, None].astype(np.int64), kv)
        logits = logits[:, -1]
    return outs


def answer(params, config, tok, questions: list[str], chat: bool = True, max_new_tokens: int = 32,
           temperature: float = 0.0, rng=None) -> list[str]:
    """The model's replies: in the chat format, or (chat=False, for the base
    model) the question as plain text followed by a space, continued."""
    return [tok.decode(o).strip() for o in reply_ids(params, config, tok, questions, chat, max_new_tokens,
                                                     temperature, rng)]


def reply_ids(params, config, tok, questions: list[str], chat: bool = True, max_new_tokens: int = 32,
              temperature: float = 0.0, rng=None) -> list[list[int]]:
    """The token ids of the replies `answer` decodes (without the stop token)."""
    prompts = [encode_prompt(tok, q) if chat else tok.encode(q + " ") for q in questions]
    return generate(params, config, prompts, max_new_tokens, tok.eot_id, temperature, rng)


# ---------------------------------------------------------------------------
# Scoring answers


def value_pattern(relation: str, value: str) -> re.Pattern:
    if relation == "goals":
        n = value.split()[0]
        return re.compile(rf"(?<![0-9]){n} goals?\b")
    return re.compile(rf"(?<![A-Za-z-]){re.escape(value)}(?![A-Za-z-])")


def first_sentence(text: str) -> str:
    """What a reply says first: up to the first full stop (a base model runs on)."""
    m = re.search(r"[.?!](\s|$)", text)
    return text[:m.end()].strip() if m else text.strip()


def is_exact(qa: QA, reply: str) -> bool:
    return reply.strip() == qa.answer
