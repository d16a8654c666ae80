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
print()

# Share of pairs where the preferred answer gets the higher reward: before
# training (the reward is the confidence alone) and after.
acc, before = rm["pair_accuracy"], rm["before_training"]
pct = lambda x: "n/a" if x is None else f"{x:.0%}"
print(f"{'ranked like the rubric':30}{'confidence alone':>18}{'trained':>9}")
for split, label in (("train", "training pairs"), ("held_out", "test pairs"),
                     ("held_out_things", "pairs about held-out things")):
    print(f"{label:30}{pct(before.get(split)):>18}{pct(acc[split]):>9}")
print(f"weight u of the confidence: 1.00 before training, {rm['confidence_weight']:.2f} after")
print()

# The pairs about held-out things, by what made the rubric prefer one answer.
KINDS = {"correct>wrong": "right fact > wrong fact", "correct>unsure": "right fact > I don't know",
         "unsure>wrong": "I don't know > wrong fact", "honest>invented": "I don't know > invention (no such thing)",
         "complete>fragment": "sentence > fragment", "polite>rude": "polite > rude"}
before_k, after_k = rm["by_kind"]["held_out_things_before_training"], rm["by_kind"]["held_out_things"]
print(f"{'pairs about held-out things':42}{'pairs':>6}{'confidence alone':>18}{'trained':>9}")
for kind, label in KINDS.items():
    if kind in after_k:
        print(f"{label:42}{after_k[kind]['pairs']:>6}{pct(before_k[kind]['accuracy']):>18}"
              f"{pct(after_k[kind]['accuracy']):>9}")
print()

# Two rankings about held-out things: reward, confidence (mean log-probability
# per answer token), and the rubric's score.
for ex in rm["examples"][:2]:
    print(ex["question"])
    print(f"  {'reward':>7} {'confidence':>10} {'rubric':>6}  answer")
    for a in sorted(ex["answers"], key=lambda a: -a["reward"]):
        print(f"  {a['reward']:+7.2f} {a['confidence']:10.3f} {a['rubric']:6.2f}  {a['answer']}")
    print()
curve = rm["curve"]
(LineChart({"pair loss": (curve["step"], curve["loss"])}, title="Reward-model training loss",
           x_label="step", y_label="loss (nats)")
 if curve["step"] else print("(no pairs, so the reward model was not trained)"))


def kind_pct(kind, which="held_out_things"):  # for the prose
    k = rm["by_kind"][which].get(kind)
    return "n/a (no such pairs)" if k is None else pct(k["accuracy"])


held_countries = align["split"]["held_out"].get("country", [])
