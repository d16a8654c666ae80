# Four abilities, measured again and again while the model was pre-trained.
import json
from guide import artifact, LineChart, text_table, jump_verdict, halfway_words

abilities = json.loads(artifact("report.json"))["abilities"]
steps, val_loss, labels = abilities["step"], abilities["val_loss"], abilities["labels"]
exact, partial = abilities["exact"], abilities["partial"]


def halfway(values):
    """The first step at which a score had made half of its whole rise
    (None when it hardly rose: half of almost nothing means nothing)."""
    if values[-1] - values[0] < 0.05:
        return None
    target = values[0] + (values[-1] - values[0]) / 2
    return next(step for step, v in zip(steps, values) if v >= target)


def biggest_rise(values):
    """Where a score rose most between two neighbouring measurements, and
    that rise as a share of its whole rise."""
    rises = [b - a for a, b in zip(values, values[1:])]
    i = max(range(len(rises)), key=rises.__getitem__)
    return i, rises[i] / (values[-1] - values[0])


rows = [[label, f"{exact[n][0]:.0%} -> {exact[n][-1]:.0%}", halfway(exact[n]) or "-",
         f"{partial[n][0]:.0%} -> {partial[n][-1]:.0%}", halfway(partial[n]) or "-"] for n, label in labels.items()]
print(f"measured {len(steps)} times, from step {steps[0]} to step {steps[-1]}\n")
print(text_table(["ability", "exact", "halfway at", "partial", "halfway at"], rows))

# Abilities that were clearly learned: both scores rose a lot.
learned = [n for n in labels if exact[n][-1] - exact[n][0] >= 0.25 and partial[n][-1] - partial[n][0] >= 0.1]
halfways = [(labels[n], halfway(exact[n]), halfway(partial[n])) for n in learned]

# The sharpest exact-match jump of those, and what the loss and the partial
# score of the same ability did between the same two measurements.
jump = None
if learned:
    sharpest = max(learned, key=lambda n: biggest_rise(exact[n])[1])
    at, share_of_rise = biggest_rise(exact[sharpest])
    p = partial[sharpest]
    jump = dict(label=labels[sharpest], steps=(steps[at], steps[at + 1]),
                scores=(exact[sharpest][at], exact[sharpest][at + 1]), share=share_of_rise,
                partial_share=(p[at + 1] - p[at]) / (p[-1] - p[0]),
                losses=(val_loss[at], val_loss[at + 1]),
                loss_share=(val_loss[at] - val_loss[at + 1]) / (val_loss[0] - val_loss[-1]))

LineChart({"held-out text": (steps, val_loss)}, title="Loss on held-out text, at the same steps",
          x_label="training step", y_label="loss (nats)")
