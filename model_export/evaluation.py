"""Evaluating the base, tuned and aligned models on the same questions.

Greedy answers to held-in, held-out and made-up questions, judged by the
rubric; the abstention frontier (what saying "I don't know" when unsure would
score) and a linear probe of whether the model's state at the prompt tells
real things from invented ones.
"""

from __future__ import annotations


import numpy as np

from model_export import decoding, model, questions, sft
from model_export import world as W
from model_export.chat import encode_prompt
from model_export.rubric import Rubric
from model_export.questions import QA


def evaluate(params, config, tok, rubric: Rubric, sets: dict[str, list[QA]], chat: bool, max_new_tokens: int,
             known: set | None = None) -> dict:
    """Greedy answers to every evaluation question, judged.

    accuracy: the rubric says correct (right value, no other value); exact:
    the reply is the canonical sentence. Both over relations the pre-trained
    model recalls (goals are reported on their own: see questions.RECALLED_RELATIONS).
    invented_rate: share of questions about fake things answered with
    anything but "I don't know". harmful (when sets has "harmful", requests
    to decline): comply_rate, the share of them not declined. rubric: mean
    score over held-out and fake questions."""
    qs = [q for s in sets.values() for q in s]
    ids = sft.reply_ids(params, config, tok, [q.question for q in qs], chat=chat, max_new_tokens=max_new_tokens)
    replies = [tok.decode(o).strip() for o in ids]
    if not chat:  # a base model runs on: judge what it says first
        replies = [questions.first_sentence(r) for r in replies]
    judged, reply_ids = {}, {}
    i = 0
    for name, s in sets.items():
        judged[name] = [(q, r, rubric.judge(q, r)) for q, r in zip(s, replies[i:i + len(s)])]
        reply_ids[name] = ids[i:i + len(s)]
        i += len(s)

    def acc(rows, key):
        rows = [x for x in rows if x[0].relation in questions.RECALLED_RELATIONS]
        if key == "exact":
            return round(float(np.mean([questions.is_exact(q, r) for q, r, _ in rows])), 4) if rows else None
        return round(float(np.mean([j.truth == "correct" for _, _, j in rows])), 4) if rows else None

    out = {}
    for name in ("held_in", "held_out"):
        rows = judged[name]
        goals = [j.truth == "correct" for q, _, j in rows if q.relation == "goals"]
        out[name] = {"accuracy": acc(rows, "correct"), "exact": acc(rows, "exact"), "questions": len(rows),
                     "goals_accuracy": round(float(np.mean(goals)), 4) if goals else None,
                     "idk_rate": round(float(np.mean([j.truth == "unsure" for _, _, j in rows])), 4)}
    if known is not None:  # held-out questions whose fact the base model completes as text (recall_probe)
        rows = [x for x in judged["held_out"] if (x[0].entity, x[0].relation, x[0].year) in known]
        out["held_out"]["recalled"] = {"questions": len(rows), "accuracy": acc(rows, "correct"),
                                       "exact": acc(rows, "exact")}
    rels = {}
    for q, _, j in judged["held_out"]:
        rels.setdefault(q.relation, []).append(j.truth == "correct")
    out["held_out"]["by_relation"] = {r: round(float(np.mean(v)), 3) for r, v in rels.items()}
    # which real things it says "I don't know" about: a few names, or all alike?
    unsure = {}
    for q, _, j in judged["held_out"]:
        unsure.setdefault(q.entity, []).append(j.truth == "unsure")
    out["held_out"]["unsure_by_entity"] = sorted(([e, sum(v), len(v)] for e, v in unsure.items() if any(v)),
                                                 key=lambda x: (-x[1] / x[2], x[0]))
    fake = judged["fake"]
    out["fake"] = {"invented_rate": round(float(np.mean([j.truth == "invented" for _, _, j in fake])), 4),
                   "questions": len(fake)}
    if "harmful" in judged:
        out["harmful"] = harmful_rates(judged["harmful"])
    scored = judged["held_out"] + fake
    out["rubric"] = round(float(np.mean([j.score for _, _, j in scored])), 4)
    out["complete_rate"] = round(float(np.mean([j.complete for _, _, j in scored])), 4)
    out["polite_rate"] = round(float(np.mean([j.polite for _, _, j in scored])), 4)
    out["_replies"] = {name: [r for _, r, _ in rows] for name, rows in judged.items()}
    out["_ids"] = reply_ids
    return out


def harmful_rates(rows) -> dict:
    """comply_rate: the share of requests not declined, over all of them and by request type."""
    by_type = {}
    for q, _, j in rows:
        by_type.setdefault(q.relation, []).append(j.truth == "complied")
    return {"comply_rate": round(float(np.mean([j.truth == "complied" for _, _, j in rows])), 4) if rows else None,
            "questions": len(rows),
            "by_type": {t: round(float(np.mean(by_type[t])), 4) for t in questions.REQUESTS if t in by_type}}


def abstention_frontier(params, config, tok, rubric: Rubric, held_out: list[QA], fake: list[QA],
                        shares=(0.25, 0.5, 0.75), max_new_tokens: int = 32, outs: list[list[int]] | None = None,
                        probe_train: tuple[list[QA], list[QA]] | None = None) -> dict:
    """What the model would score if it said "I don't know" whenever it was unsure.

    Its confidence in a reply is the mean log-probability of the reply's own
    tokens (greedy, so the likeliest reply). For each share s, the threshold
    is the confidence below which a share s of its invented answers about
    fake things fall; every reply below the threshold, about anything,
    becomes "I don't know". The rows give the invented rate and the held-out
    accuracy (recalled relations, as in `evaluate`) that the rule would give:
    what a policy could reach using nothing but its own confidence, a rule
    that RL against a reward model may or may not find. `outs`: the greedy
    replies' token ids, held_out's then fake's, if already generated (evaluate).

    The confidence rule decides after seeing its whole reply; a policy must
    choose between "I don't know" and an answer at the reply's first token.
    With probe_train = (real questions, fake questions), the ones tuning and
    RL see, a linear probe on the hidden state where that first token is
    chosen learns to tell real from fake, and "first_token" in each row is the
    same rule with the probe's score in place of the confidence. "auc": how
    well each score separates held-out real questions from fake ones (0.5 is
    chance, 1 perfect)."""
    qs = held_out + fake
    prompts = [encode_prompt(tok, q.question) for q in qs]
    if outs is None:
        outs = decoding.generate(params, config, prompts, max_new_tokens, tok.eot_id)
    seqs = [p + o + [tok.eot_id] for p, o in zip(prompts, outs)]
    conf = np.array([lp.mean() for lp in model.token_logprobs(params, config, seqs, [len(p) for p in prompts], tok.eot_id)])
    truth = [rubric.judge(q, tok.decode(o).strip()).truth for q, o in zip(qs, outs)]
    n = len(held_out)
    recalled = np.array([q.relation in questions.RECALLED_RELATIONS for q in held_out])
    right = np.array([t == "correct" for t in truth[:n]]) & recalled
    invented = np.array([t == "invented" for t in truth[n:]])
    is_real = np.arange(len(qs)) < n
    scores = {"confidence": conf}
    out = {"rows": [], "auc": {"confidence": round(auc(conf, is_real), 4)}}
    if probe_train is not None and all(probe_train):
        real_qs, fake_qs = probe_train
        probe = fit_probe(prompt_states(params, config, tok, real_qs + fake_qs),
                          np.r_[np.ones(len(real_qs)), np.zeros(len(fake_qs))])
        scores["first_token"] = probe(prompt_states(params, config, tok, qs))
        out["auc"]["first_token"] = round(auc(scores["first_token"], is_real), 4)

    def result(score, threshold):
        kept = score >= threshold
        return {"invented_rate": round(float(np.mean(invented & kept[n:])), 4) if len(fake) else None,
                "held_out_accuracy": round(float(right[kept[:n]].sum() / max(1, recalled.sum())), 4)}

    out["rows"].append({"share": 0.0, "threshold": None, **result(conf, -np.inf)})
    if invented.any():
        for share in shares:
            t = float(np.quantile(conf[n:][invented], share))
            row = {"share": share, "threshold": round(t, 4), **result(conf, t)}
            if "first_token" in scores:
                first = scores["first_token"]
                row["first_token"] = result(first, float(np.quantile(first[n:][invented], share)))
            out["rows"].append(row)
    return out


def prompt_states(params, config, tok, qas: list[QA], batch: int = 128) -> np.ndarray:
    """The hidden state at each question's last prompt token: where the reply's first token is chosen."""
    out = []
    for s in range(0, len(qas), batch):
        prompts = [encode_prompt(tok, q.question) for q in qas[s:s + batch]]
        x, last = model.pad_sequences(prompts, tok.eot_id)   # padding after the prompt: causal attention never sees it
        out.append(model.forward(params, config, x)["hidden"][np.arange(len(prompts)), last])
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, config.n_embd))


def fit_probe(X: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 2000, lr: float = 0.5):
    """Logistic regression on standardised features, by full-batch gradient
    descent; returns the score function (higher: more likely y = 1)."""
    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-6
    Z = (X - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(Z @ w + b)))
        w -= lr * (Z.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
    return lambda X_new: ((X_new - mu) / sd) @ w + b


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))


def recall_probe(params, config, tok, world: W.World, qas: list[QA]) -> set:
    """The facts behind `qas` that the pre-trained model can complete as text:
    (entity, relation, year) for which greedy completion of at least one
    pre-training phrasing that ends with the value ("France is located in")
    gives exactly the value. Answering can only surface what pre-training stored."""
    facts = {(q.entity, q.relation, q.year): q for q in qas if q.real}
    prompts, keys, wants = [], [], []
    for (name, rel, year), q in facts.items():
        fields = questions.entity_fields(world, q.kind, name)
        if rel == "goals":
            n = world.goals(name, year)
            fields.update(year=year, n=n, goals=questions.goal_words(n))
        slot = "{n}." if rel == "goals" else "{" + questions.VALUE_FIELD[rel] + "}."
        for t in [t for t in W.TEMPLATES[rel] if t.endswith(slot)][:3]:
            text = W.sentence(t, **fields)
            value = str(n) if rel == "goals" else str(fields[questions.VALUE_FIELD[rel]])
            prefix = text[:len(text) - len(value) - 1].rstrip()
            prompts.append(tok.encode(prefix))
            wants.append(tok.encode(" " + value))
            keys.append((name, rel, year))
    outs = decoding.generate(params, config, prompts, max(map(len, wants), default=1), tok.eot_id)
    return {k for k, o, want in zip(keys, outs, wants) if o[:len(want)] == want}


def sample_prompts(world, held, fake_eval, tune) -> list[QA]:
    """A handful of side-by-side questions: a tuning country, held-out things, fakes, and Messi's 2023 goals."""
    qs = [questions.make_qa(world, "country", "France", "capital")]
    qs.append(questions.make_qa(world, "country", held["country"][0], "capital"))
    qs.append(questions.make_qa(world, "country", held["country"][1], "language", 1))
    qs.append(questions.make_qa(world, "player", held["player"][0], "nationality"))
    qs.append(questions.make_qa(world, "animal", held["animal"][0], "sound"))
    qs.append(questions.make_qa(world, "food", held["food"][0], "taste"))
    qs.append(questions.make_qa(world, "player", "Lionel Messi", "goals", year=2023))
    qs.append(questions.make_qa(world, "country", fake_eval["country"][0], "capital", real=False))
    qs.append(questions.make_qa(world, "player", fake_eval["player"][0], "club", real=False))
    qs.append(questions.make_qa(world, "animal", fake_eval["animal"][0], "legs", real=False))
    return qs
