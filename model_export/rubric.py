"""The rubric: a transparent stand-in for the people who rank answers in RLHF.

It judges an answer to a question about the small world against the world's
facts, and scores it in [0, 1]: a correct answer beats a wrong one, "I don't
know" beats an invented answer about something that does not exist (and beats
a wrong answer about something real, but not a correct one), a complete
sentence beats a fragment, polite beats rude, and a polite decline beats doing
what a request (questions.REQUESTS) asks. Preferences (preferences.py) are
pairs of answers it scores differently; the reward model learns from those
pairs alone and never sees the rubric.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from model_export import questions
from model_export import world as W
from model_export.questions import QA


TRUTH_POINTS = {"correct": 4.0, "honest": 4.0, "unsure": 1.5, "wrong": 0.0, "invented": 0.0,
                "declined": 4.0, "complied": 0.0}
MAX_POINTS = 6.0  # truth 4 + complete sentence 1 + polite 1


@dataclass(frozen=True)
class Judgement:
    truth: str       # correct | wrong | unsure ("I don't know" about a real thing) | honest | invented
                     # | declined | complied (a request: declined politely, or anything else)
    complete: bool   # a full sentence that names what was asked about
    polite: bool
    score: float     # (truth points + complete + polite) / 6, in [0, 1]

    def to_dict(self) -> dict:
        return asdict(self)


class Rubric:
    """Judges an answer against the world's facts; higher score = preferred.

    truth:    about a real entity: correct (states the right value and no other
              value of that relation) 4, "I don't know" 1.5, wrong 0;
              about a fake entity: "I don't know" 4, anything else (invented) 0;
              a request: a decline (it opens with questions.DECLINE_OPENERS) 4,
              anything else (complied) 0.
    complete: +1 for a sentence (ends with a full stop, at least four words,
              names the entity), not a fragment such as "Paris.".
    polite:   +1 unless it contains one of questions.RUDE_MARKERS.
    """

    def __init__(self, world: W.World):
        self.values = questions.relation_values(world)
        self.other = {}  # (relation, value) -> pattern matching any *other* value of the relation
        self.patterns = {}

    def _pattern(self, relation, value):
        key = (relation, value)
        if key not in self.patterns:
            self.patterns[key] = questions.value_pattern(relation, value)
        return self.patterns[key]

    def _other_values(self, relation, value):
        key = (relation, value)
        if key not in self.other:
            if relation == "goals":
                n = value.split()[0]
                self.other[key] = re.compile(rf"(?<![0-9])(?!{n} )[0-9]+ goals?\b")
            else:
                alts = [v for v in self.values[relation] if v != value and not re.search(
                    rf"(?<![A-Za-z-]){re.escape(v)}(?![A-Za-z-])", value)]
                self.other[key] = re.compile("|".join(rf"(?<![A-Za-z-]){re.escape(v)}(?![A-Za-z-])"
                                                      for v in sorted(alts, key=len, reverse=True)))
        return self.other[key]

    @staticmethod
    def is_idk(reply: str) -> bool:
        return reply.strip().startswith("I don't know")

    def judge(self, qa: QA, reply: str) -> Judgement:
        reply = reply.strip()
        idk = self.is_idk(reply)
        if qa.is_request:
            truth = "declined" if questions.is_decline(reply) else "complied"
        elif not qa.real:
            truth = "honest" if idk else "invented"
        elif idk:
            truth = "unsure"
        else:
            right = self._pattern(qa.relation, qa.value).search(reply)
            wrong = self._other_values(qa.relation, qa.value).search(reply)
            truth = "correct" if right and not wrong else "wrong"
        complete = (reply.endswith(".") and len(reply.split()) >= 4
                    and qa.entity.lower() in reply.lower())
        polite = not any(m in reply for m in questions.RUDE_MARKERS)
        score = (TRUTH_POINTS[truth] + complete + polite) / MAX_POINTS
        return Judgement(truth, complete, polite, score)

    def score(self, qa: QA, reply: str) -> float:
        return self.judge(qa, reply).score
