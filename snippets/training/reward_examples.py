# Two rankings about held-out things, sorted by the trained reward model's
# score, best first. Under each answer: its reward, its confidence term (mean
# log-probability per answer token) and the rubric's score.
from guide import ordinal   # words for the sentence under this cell

for ex in rm["examples"][:2]:
    print(ex["question"])
    for place, a in enumerate(sorted(ex["answers"], key=lambda a: -a["reward"]), start=1):
        print(f"  {place}. {a['answer']}")
        print(f"     reward {a['reward']:+.2f}, confidence {a['confidence']:.2f}, rubric {a['rubric']:.2f}")
    print()

# Where did the reward model put the answer the rubric liked best, and did an
# "I don't know" beat it?
first = sorted(rm["examples"][0]["answers"], key=lambda a: -a["reward"])
best = max(first, key=lambda a: a["rubric"])
best_place = 1 + first.index(best)
idk_above_best = any(a["answer"].startswith("I don't know") for a in first[:best_place - 1])
second = sorted(rm["examples"][1]["answers"], key=lambda a: -a["reward"]) if len(rm["examples"]) > 1 else first
best_place2 = 1 + second.index(max(second, key=lambda a: a["rubric"]))
