# Reinforcement learning against the reward model: REINFORCE with a
# leave-one-out baseline and a KL penalty that keeps the policy close to the
# tuned (SFT) model. The rubric only watches: RL never sees its scores.
from guide import LineChart, ChartRow, text_table

curve, settings = align["rl"]["curve"], align["settings"]["rl"]


def mean(xs):
    return sum(xs) / len(xs)


def smooth(xs, k=10):
    """Running mean over the last k steps (one step's batch is noisy), from the k-th step on."""
    k = min(k, len(xs))
    return [mean(xs[i - k + 1:i + 1]) for i in range(k - 1, len(xs))]


k = max(1, len(curve["step"]) // 5)  # first and last fifth of the run
start = {key: mean(curve[key][:k]) for key in ("reward", "kl", "rubric")}
end = {key: mean(curve[key][-k:]) for key in ("reward", "kl", "rubric")}
print(f"{settings['steps']} steps, each {settings['prompts']} prompts x {settings['samples']} answers; "
      f"KL coefficient {settings['kl_coef']}")
print(f"start, end: means over the first and last {k} steps")
print(text_table(["per answer", "start", "end"],
                 [(label, f"{start[key]:.3f}", f"{end[key]:.3f}")
                  for key, label in (("reward", "reward-model score"), ("kl", "KL from the SFT model"),
                                     ("rubric", "rubric score (unseen)"))]))
print("charts: running means over 10 steps")
# One small chart each: on one shared axis the small KL and rubric values would
# look flat. The rubric is drawn as its change since the start of the run, so
# that a change of a few hundredths is visible.
series = {key: smooth(curve[key]) for key in ("reward", "kl", "rubric")}
series["rubric"] = [y - start["rubric"] for y in series["rubric"]]   # change since the first steps
steps = curve["step"][len(curve["step"]) - len(series["kl"]):]
ChartRow(*(LineChart({"": (steps, series[key])}, title=title, x_label="RL step", width=230, height=190)
           for key, title in (("reward", "Reward-model score"), ("kl", "KL from SFT (nats)"),
                              ("rubric", "Rubric, change from start"))))
