# The same two models over every evaluation question (greedy decoding): the
# rates behind the examples above.
from guide import change, share, text_table, trade_words

ROWS = [  # short labels, so that the table fits a phone's width
    ("correct, seen in tuning", lambda e: e["held_in"]["accuracy"]),
    ("goal counts right, seen", lambda e: e["held_in"]["goals_accuracy"]),
    ("correct, held out", lambda e: e["held_out"]["accuracy"]),
    ("\"I don't know\", held out", lambda e: e["held_out"]["idk_rate"]),
    ("invented, nonexistent", lambda e: e["fake"]["invented_rate"]),
    ("complete sentences", lambda e: e["complete_rate"]),
    ("polite", lambda e: e["polite_rate"]),
]
sft, rlhf = align["checkpoints"]["sft"], align["checkpoints"]["rlhf"]
print(text_table(["", "SFT", "RLHF"], [(title, share(get(sft)), share(get(rlhf))) for title, get in ROWS]))
q = align["split"]["eval_questions"]
print(f"\nquestions: {q['held_in']} seen in tuning, {q['held_out']} held out, {q['fake']} nonexistent")
