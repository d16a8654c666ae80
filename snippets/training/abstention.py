# Could the tuned model have known when it did not know? Its confidence in a
# reply: the mean log-probability of the reply's own tokens. The rule below
# says "I don't know" whenever that confidence is under a threshold, chosen so
# that a given share of its invented answers (about things that do not exist)
# fall under it. It never looks at the answer key.
import json
from guide import artifact

report = json.loads(artifact("report.json"))
align = report["align"]
rows = align["abstention"]["rows"]
rlhf = align["checkpoints"]["rlhf"]


def pct(x):
    return "n/a" if x is None else f"{x:.0%}"


print(f"{'':46}{'invented':>10}{'held-out correct':>18}")
for row in rows:
    label = ("the tuned model as it is" if row["threshold"] is None else
             f"abstain below {row['threshold']:+.3f} ({row['share']:.0%} of inventions)")
    print(f"{label:46}{pct(row['invented_rate']):>10}{pct(row['held_out_accuracy']):>18}")
print(f"{'the RLHF model':46}{pct(rlhf['fake']['invented_rate']):>10}{pct(rlhf['held_out']['accuracy']):>18}")

half = next((r for r in rows if r["share"] == 0.5), None)  # the row the prose quotes
summary = ("There were no invented answers to remove." if half is None else
           f"Abstaining on the replies that hold half of its inventions takes the invented rate from "
           f"{pct(rows[0]['invented_rate'])} to {pct(half['invented_rate'])}, and held-out correct answers from "
           f"{pct(rows[0]['held_out_accuracy'])} to {pct(half['held_out_accuracy'])}.")
