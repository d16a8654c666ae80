# Two rankings about held-out things, sorted by the trained reward model's
# score, best first. Under each answer: its reward, its confidence term (mean
# log-probability per answer token) and the rubric's score.
from guide import placement_words

ranked = [sorted(ex["answers"], key=lambda a: -a["reward"]) for ex in rm["examples"][:2]]
for ex, answers in zip(rm["examples"], ranked):
    print(ex["question"])
    for place, a in enumerate(answers, start=1):
        print(f"  {place}. {a['answer']}")
        print(f"     reward {a['reward']:+.2f}, confidence {a['confidence']:.2f}, rubric {a['rubric']:.2f}")
    print()
