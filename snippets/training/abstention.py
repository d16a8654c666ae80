# Could the tuned model have known when it did not know? Two yardsticks, with
# no reward model and no training:
# 1. its confidence in a finished reply (mean log-probability of the reply's
#    tokens): say "I don't know" whenever it is below a threshold, set so that
#    a given share of the inventions (about things that do not exist) fall under it;
# 2. the same decision at the reply's first token, as a policy must make it: a
#    linear probe (a logistic regression on the hidden state there), trained to
#    tell the real things of tuning from the invented names of tuning.
from guide import separation_words, share, text_table

frontier = align["abstention"]
rows = frontier["rows"]
table = [("the tuned model as it is", share(rows[0]["invented_rate"]), share(rows[0]["held_out_accuracy"]))]
table += [(f"whole reply, {r['share']:.0%} of inventions", share(r["invented_rate"]), share(r["held_out_accuracy"]))
          for r in rows[1:]]
first = [r for r in rows[1:] if "first_token" in r]
table += [(f"first token, {r['share']:.0%} of inventions", share(r["first_token"]["invented_rate"]),
           share(r["first_token"]["held_out_accuracy"])) for r in first]
table.append(("the RLHF model", share(rlhf["fake"]["invented_rate"]), share(rlhf["held_out"]["accuracy"])))
print(text_table(["abstaining on", "invented", "held-out correct"], table))

# How well each signal tells held-out real questions from questions about
# invented things: AUC, the chance that a random real question scores above a
# random invented one (50% is a coin flip, 100% perfect).
auc = frontier["auc"]
print(f"\nAUC, confidence in the whole reply: {share(auc['confidence'])}")
if "first_token" in auc:
    print(f"AUC, probe at the first token:      {share(auc['first_token'])}")

half = next((r for r in rows if r["share"] == 0.5), rows[0])  # halving the inventions
at_first = half.get("first_token", half)
# The first-token rule that invents about as often as the RLHF model.
near = min(first, key=lambda r: abs(r["first_token"]["invented_rate"] - rlhf["fake"]["invented_rate"]),
           default={"first_token": {"invented_rate": None, "held_out_accuracy": None}})["first_token"]

# Where the RLHF model says "I don't know" about real held-out things.
unsure = rlhf["held_out"].get("unsure_by_entity", [])
print(f"\n\"I don't know\" about real held-out things: {sum(n for _, n, _ in unsure)} answers")
for name, n, total in unsure[:4]:
    print(f"  {name}: {n} of its {total} questions")
