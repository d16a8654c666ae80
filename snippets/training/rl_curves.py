# Reinforcement learning against the reward model, with a KL penalty that keeps
# the policy close to the SFT model. The rubric only watches: RL never sees it.
import json
from guide import artifact, LineChart

report = json.loads(artifact("report.json"))
rl = report["align"]["rl"]
curve, settings = rl["curve"], report["align"]["settings"]["rl"]


def smooth(xs, k=10):
    return [sum(xs[max(0, i - k + 1):i + 1]) / len(xs[max(0, i - k + 1):i + 1]) for i in range(len(xs))]


def mean(xs):
    return sum(xs) / len(xs)


k = max(1, len(curve["step"]) // 5)  # first and last fifth of the run
start = {key: mean(curve[key][:k]) for key in ("reward", "kl", "rubric")}
end = {key: mean(curve[key][-k:]) for key in ("reward", "kl", "rubric")}
print(f"{settings['steps']} steps, {settings['prompts']} prompts x {settings['samples']} answers each, "
      f"KL coefficient {settings['kl_coef']}")
print(f"{'':36}{'first steps':>12}{'last steps':>12}")
for key, label in (("reward", "reward-model score"), ("kl", "KL to the SFT model"),
                   ("rubric", "rubric score (not seen by RL)")):
    print(f"{label:36}{start[key]:12.3f}{end[key]:12.3f}")
LineChart({"reward-model score": (curve["step"], smooth(curve["reward"])),
           "KL to SFT model": (curve["step"], smooth(curve["kl"])),
           "rubric (watching only)": (curve["step"], smooth(curve["rubric"]))},
          title="RLHF, running means over 10 steps", x_label="RL step", y_label="per answer")
