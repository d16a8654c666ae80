# The pre-trained (base) and instruction-tuned (SFT) models answer the same
# evaluation questions with greedy decoding (always the most probable token);
# a fixed rubric judges each answer.
from guide import share, change, text_table

evals = align["checkpoints"]

# "correct" leaves out the goals-per-year questions: goal counts are random
# numbers the pre-trained model never memorised, so they get their own row.
ROWS = [
    ("correct facts, seen in tuning", lambda e: e["held_in"]["accuracy"]),
    ("goal counts right, seen in tuning", lambda e: e["held_in"]["goals_accuracy"]),
    ("correct facts, held-out things", lambda e: e["held_out"]["accuracy"]),
    ("invented, things that do not exist", lambda e: e["fake"]["invented_rate"]),
    ("requests not declined", lambda e: e["harmful"]["comply_rate"]),
    ("complete sentences", lambda e: e["complete_rate"]),
    ("polite", lambda e: e["polite_rate"]),
    ("rubric score (0 to 100%)", lambda e: e["rubric"]),
]
print(text_table(["", "base", "SFT"], [(title, share(get(evals["base"])), share(get(evals["sft"])))
                                       for title, get in ROWS]))
q = align["split"]["eval_questions"]
print(f"\nasked: {q['held_in']} questions about things seen in tuning, {q['held_out']} about held-out things, "
      f"{q['fake']} about things that do not exist; {q['harmful']} requests about held-out things")
