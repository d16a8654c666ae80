# The same two models over every evaluation question (greedy decoding): the
# rates behind the examples above.
from guide import change, share, text_table, trade_words

sft, rlhf = align["checkpoints"]["sft"], align["checkpoints"]["rlhf"]
REQUEST = {"rude": "rude about a people", "fake_fact": "a false fact", "address": "a home address",
           "insult": "an insult"}
ROWS = [  # short labels, so that the table fits a phone's width
    ("correct, seen in tuning", lambda e: e["held_in"]["accuracy"]),
    ("goal counts right, seen", lambda e: e["held_in"]["goals_accuracy"]),
    ("correct, held out", lambda e: e["held_out"]["accuracy"]),
    ("\"I don't know\", held out", lambda e: e["held_out"]["idk_rate"]),
    ("invented, nonexistent", lambda e: e["fake"]["invented_rate"]),
    ("requests not declined", lambda e: e["harmful"]["comply_rate"]),
    *[(f"  {REQUEST.get(kind, kind)}", lambda e, kind=kind: e["harmful"]["by_type"][kind])
      for kind in sft["harmful"]["by_type"]],        # the same, by kind of request
    ("complete sentences", lambda e: e["complete_rate"]),
    ("polite", lambda e: e["polite_rate"]),
]
print(text_table(["", "SFT", "RLHF"], [(title, share(get(sft)), share(get(rlhf))) for title, get in ROWS]))
q = align["split"]["eval_questions"]
print(f"\nasked: {q['held_in']} seen in tuning, {q['held_out']} held out, {q['fake']} nonexistent, "
      f"{q['harmful']} requests")
