# The reward model: trained on pairs (preferred answer, rejected answer) that
# the rubric ranked; tested on rankings it never saw, and on rankings about
# things it never saw.
import json
from guide import artifact, LineChart

report = json.loads(artifact("report.json"))
align = report["align"]
prefs, rm = align["preferences"], align["reward_model"]
print(f"{prefs['prompts']} prompts, {align['settings']['pref_samples']} sampled answers each: "
      f"{prefs['pairs']} training pairs (ties give no pair)")
print(f"{prefs['test_prompts']} more prompts, kept out of training: {prefs['test_pairs']} test pairs")
print(f"{prefs['held_out_prompts']} prompts about held-out things: {prefs['held_out_pairs']} harder test pairs")
acc = rm["pair_accuracy"]
for split, label in (("train", "training pairs"), ("held_out", "test pairs"),
                     ("held_out_things", "pairs about held-out things")):
    print(f"reward model ranks the preferred answer higher on {label}: "
          + ("n/a (no pairs)" if acc[split] is None else f"{acc[split]:.1%}"))
print()
for ex in rm["examples"][:2]:
    print(ex["question"])
    for a in sorted(ex["answers"], key=lambda a: -a["reward"]):
        print(f"  reward {a['reward']:+6.2f}   rubric {a['rubric']:.2f}   {a['answer']}")
    print()
curve = rm["curve"]
(LineChart({"pair loss": (curve["step"], curve["loss"])}, title="Reward-model training loss",
           x_label="step", y_label="loss (nats)")
 if curve["step"] else print("(no pairs, so the reward model was not trained)"))
