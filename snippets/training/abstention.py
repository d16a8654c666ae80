# Could the tuned model have known when it did not know? Its confidence in a
# reply: the mean log-probability of the reply's own tokens. The rule below
# says "I don't know" whenever that confidence is under a threshold, chosen so
# that a given share of its invented answers (about things that do not exist)
# fall under it. It never looks at the answer key.
#
# A policy cannot wait for its whole reply: it chooses between "I don't know"
# and an answer at the first token. The second rule decides there, with a
# linear probe on the hidden state at that point, trained to tell the real
# things of tuning from the invented names of tuning.
import json
from guide import artifact

report = json.loads(artifact("report.json"))
align = report["align"]
frontier = align["abstention"]
rows = frontier["rows"]
rlhf = align["checkpoints"]["rlhf"]


def pct(x):
    return "n/a" if x is None else f"{x:.0%}"


print(f"{'':48}{'invented':>10}{'held-out correct':>18}")
print(f"{'the tuned model as it is':48}{pct(rows[0]['invented_rate']):>10}{pct(rows[0]['held_out_accuracy']):>18}")
print("deciding after the whole reply (its confidence):")
for row in rows[1:]:
    label = f"  abstain below {row['threshold']:+.3f} ({row['share']:.0%} of inventions)"
    print(f"{label:48}{pct(row['invented_rate']):>10}{pct(row['held_out_accuracy']):>18}")
first = [row for row in rows[1:] if "first_token" in row]
if first:
    print("deciding at the first token (the probe):")
    for row in first:
        label = f"  abstain on {row['share']:.0%} of inventions"
        print(f"{label:48}{pct(row['first_token']['invented_rate']):>10}"
              f"{pct(row['first_token']['held_out_accuracy']):>18}")
print(f"{'the RLHF model':48}{pct(rlhf['fake']['invented_rate']):>10}{pct(rlhf['held_out']['accuracy']):>18}")
auc = frontier["auc"]
print()
print("telling held-out real questions from fake ones (AUC; 50% is chance, 100% perfect):")
print(f"  {'the confidence in the whole reply':44}{pct(auc['confidence'])}")
if "first_token" in auc:
    print(f"  {'the probe, where the first token is chosen':44}{pct(auc['first_token'])}")

half = next((r for r in rows if r["share"] == 0.5), None)  # the row the prose quotes
summary = ("There were no invented answers to remove." if half is None else
           f"Abstaining on the replies that hold half of its inventions takes the invented rate from "
           f"{pct(rows[0]['invented_rate'])} to {pct(half['invented_rate'])}, and held-out correct answers from "
           f"{pct(rows[0]['held_out_accuracy'])} to {pct(half['held_out_accuracy'])}.")
first_summary = ""
if half is not None and "first_token" in half:
    at_first = half["first_token"]
    cost = ("costs far more: held-out correct answers fall to"
            if at_first["held_out_accuracy"] < half["held_out_accuracy"] - 0.02 else "leaves held-out correct answers at")
    first_summary = (f"Deciding at the first token, the same halving of inventions (to "
                     f"{pct(at_first['invented_rate'])}) {cost} {pct(at_first['held_out_accuracy'])}.")
    if auc.get("first_token") is not None and auc["first_token"] < auc["confidence"] - 0.05:
        first_summary += (" The AUC lines say why: where the first token is chosen, the hidden state tells "
                          "held-out real questions from fake ones less well than the confidence in a "
                          "finished reply does.")
    if at_first["held_out_accuracy"] < rows[0]["held_out_accuracy"] - 0.02:
        first_summary += (" Read that way, the tuned model's signal at the first token falls well short of the "
                          "goals this build set for RLHF: halve the inventions, lose at most two points of "
                          "accuracy.")
# The first-token rule whose invented rate is nearest the RLHF model's, for the prose
near = min(first, key=lambda r: abs(r["first_token"]["invented_rate"] - rlhf["fake"]["invented_rate"]),
           default=None)
rlhf_vs_probe = ("" if near is None else
                 f"The RLHF model invents {pct(rlhf['fake']['invented_rate'])} of the time and answers "
                 f"{pct(rlhf['held_out']['accuracy'])} of held-out questions correctly; the first-token rule "
                 f"nearest it invents {pct(near['first_token']['invented_rate'])} of the time and answers "
                 f"{pct(near['first_token']['held_out_accuracy'])} correctly.")

# Where the RLHF model says "I don't know" about real held-out things: spread
# over many names (like a confidence rule), or piled on a few?
unsure = rlhf["held_out"].get("unsure_by_entity", [])
n_unsure = sum(n for _, n, _ in unsure)
top = unsure[:4]
shortcut = ("The RLHF model never said \"I don't know\" about a real held-out thing." if not unsure else
            f"The RLHF model said \"I don't know\" to {n_unsure} questions about real held-out things, "
            f"{sum(n for _, n, _ in top)} of them about just {len(top)} "
            f"name{'s' if len(top) > 1 else ''}: "
            + ", ".join(f"{name} ({n} of its {total} questions)" for name, n, total in top) + ".")

sft = align["checkpoints"]["sft"]
met = (rlhf["fake"]["invented_rate"] <= sft["fake"]["invented_rate"] / 2
       and rlhf["held_out"]["accuracy"] >= sft["held_out"]["accuracy"] - 0.02)
if near is None:
    verdict = ""
elif abs(rlhf["held_out"]["accuracy"] - near["first_token"]["held_out_accuracy"]) <= 0.03:
    verdict = "RL ended up about where a first-token decision lands."
elif rlhf["held_out"]["accuracy"] > near["first_token"]["held_out_accuracy"]:
    verdict = ("RL did better than that line (it can reshape what the hidden state holds; the probe only reads it)"
               + ("." if met else ", but not by the margin the goals need."))
else:
    verdict = "RL ended up below even that line."
