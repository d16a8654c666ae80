# The reward model: trained on pairs (preferred answer, rejected answer) that
# the rubric ranked; tested on rankings it never saw, and on rankings about
# things it never saw.
from guide import decline_wording_words, held_out_words, share, text_table

prefs, rm = align["preferences"], align["reward_model"]
print(f"{prefs['prompts']} prompts x {align['settings']['pref_samples']} sampled answers: "
      f"{prefs['pairs']} training pairs (ties give no pair)")
print(f"{prefs['test_prompts']} more prompts, kept out of training: {prefs['test_pairs']} test pairs")
print(f"{prefs['held_out_prompts']} prompts about held-out things: {prefs['held_out_pairs']} pairs")
print()

# Share of pairs where the preferred answer gets the higher reward, before
# training (then the reward is the confidence alone: w = 0, u = 1) and after.
acc, before = rm["pair_accuracy"], rm["before_training"]
splits = {"train": "training pairs", "held_out": "test pairs", "held_out_things": "held-out things"}
print("ranked as the rubric ranked them")
print(text_table(["pairs", "confidence alone", "trained"],
                 [(label, share(before.get(split)), share(acc[split])) for split, label in splits.items()]))
print(f"weight u of the confidence: 1.00 before training, {rm['confidence_weight']:.2f} after")
print()

# The pairs about held-out things, by what made the rubric prefer one answer.
KINDS = {"correct>wrong": "right fact > wrong fact", "correct>unsure": "right fact > I don't know",
         "unsure>wrong": "I don't know > wrong fact", "honest>invented": "I don't know > invention",
         "complete>fragment": "sentence > fragment", "polite>rude": "polite > rude"}
before_k, after_k = rm["by_kind"]["held_out_things_before_training"], rm["by_kind"]["held_out_things"]
print("pairs about held-out things, by kind")
print(text_table(["rubric prefers", "pairs", "conf. alone", "trained"],
                 [(label, after_k[kind]["pairs"], share(before_k[kind]["accuracy"]), share(after_k[kind]["accuracy"]))
                  for kind, label in KINDS.items() if kind in after_k]))


def kind_share(kind, which="held_out_things"):
    k = rm["by_kind"][which].get(kind)
    return "n/a (no such pairs)" if k is None else share(k["accuracy"])


held_countries = align["split"]["held_out"].get("country", [])
