# How temperature, top-k and top-p reshape one next-token distribution.
# The four scores are made up; the steps are the ones this site's own sampler takes.
import math

logits = {" Paris": 4.0, " Lyon": 2.5, " the": 2.0, " a": 0.5}

def softmax(scores, temperature=1.0):
    exps = {t: math.exp(s / temperature) for t, s in scores.items()}
    total = sum(exps.values())
    return {t: e / total for t, e in exps.items()}

for temperature in (0.5, 1.0, 2.0):
    probs = softmax(logits, temperature)
    print(f"temperature {temperature}: " + ", ".join(f"{t!r} {p:.2f}" for t, p in probs.items()))

def keep(probs, top_k=0, top_p=1.0):
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])   # most probable first
    if top_k > 0:
        ranked = ranked[:top_k]                             # top-k: only the k best
    total, kept, running = sum(p for _, p in ranked), [], 0.0
    for token, p in ranked:                                 # top-p: until their share reaches top_p
        kept.append(token)
        running += p / total
        if running >= top_p:
            break
    return kept

probs = softmax(logits)
print("top-k 2 keeps:", keep(probs, top_k=2))
print("top-p 0.9 keeps:", keep(probs, top_p=0.9))
