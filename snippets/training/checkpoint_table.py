# Every checkpoint answers the same evaluation questions (greedy decoding);
# a transparent rubric, standing in for human raters, judges each answer.
import json
from guide import artifact

report = json.loads(artifact("report.json"))
align = report["align"]
evals = align["checkpoints"]
names = [("base", "base"), ("sft", "SFT"), ("rlhf", "RLHF")]


def pct(x):
    return "n/a" if x is None else f"{x:.0%}"


def compare(before, after, tolerance=0.005):
    """Words for a change between two shares, true whichever way it went."""
    if before is None or after is None:
        return "could not be measured"
    if after > before + tolerance:
        return f"rose from {before:.0%} to {after:.0%}"
    if after < before - tolerance:
        return f"fell from {before:.0%} to {after:.0%}"
    return f"stayed at about {after:.0%}"


rows = [
    ("correct, things seen in tuning", lambda e: e["held_in"]["accuracy"]),
    ("correct, things held out of tuning", lambda e: e["held_out"]["accuracy"]),
    ("invented answers, things that do not exist", lambda e: e["fake"]["invented_rate"]),
    ("complete sentences", lambda e: e["complete_rate"]),
    ("polite", lambda e: e["polite_rate"]),
    ("rubric score (0 to 100%)", lambda e: e["rubric"]),
]
print(f"{'':44}" + "".join(f"{label:>8}" for _, label in names))
for title, get in rows:
    print(f"{title:44}" + "".join(f"{pct(get(evals[n])):>8}" for n, _ in names))
q = align["split"]["eval_questions"]
print(f"\nquestions: {q['held_in']} about things seen in tuning, {q['held_out']} about held-out things, "
      f"{q['fake']} about things that do not exist")
