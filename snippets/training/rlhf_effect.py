# The tuned (SFT) and RLHF models on the same evaluation questions as in the
# previous chapter (greedy decoding, judged by the rubric).
from guide import share, change, text_table

ROWS = [
    ("correct facts, seen in tuning", lambda e: e["held_in"]["accuracy"]),
    ("goal counts right, seen in tuning", lambda e: e["held_in"]["goals_accuracy"]),
    ("correct facts, held-out things", lambda e: e["held_out"]["accuracy"]),
    ("\"I don't know\", held-out things", lambda e: e["held_out"]["idk_rate"]),
    ("invented, things that do not exist", lambda e: e["fake"]["invented_rate"]),
    ("complete sentences", lambda e: e["complete_rate"]),
    ("polite", lambda e: e["polite_rate"]),
    ("rubric score (0 to 100%)", lambda e: e["rubric"]),
]
sft, rlhf = align["checkpoints"]["sft"], align["checkpoints"]["rlhf"]
print(text_table(["", "SFT", "RLHF"], [(title, share(get(sft)), share(get(rlhf))) for title, get in ROWS]))

# The ten sample questions of the previous chapter: which answers did RL change?
samples = align["samples"]
changed = [s for s in samples if s["sft"] != s["rlhf"]]
print(f"\nsample questions answered differently after RLHF: {len(changed)} of {len(samples)}")
for s in changed:
    print(f"{s['question']}\n  SFT   {s['sft']}\n  RLHF  {s['rlhf']}")
