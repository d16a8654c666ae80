# Smooth underneath, sudden on top. Suppose that, as models grow, the probability
# of producing each correct token of an answer rises smoothly (scaling studies
# find the average loss per token falls smoothly, as a power law of size).
import math
from guide import LineChart

def p_token(n_params):
    """Chance of getting one answer token right: rises smoothly with size."""
    loss = (1.2e8 / n_params) ** (1 / 3)      # loss per token falls as a power law
    return math.exp(-loss)                    # probability of the right token = e^(-loss)

k = 10                                        # the answer is 10 tokens long, e.g. a long sum
sizes = [10 ** (7 + i / 4) for i in range(21)]            # 10 million to 1 trillion parameters
per_token = [p_token(n) for n in sizes]
exact = [p ** k for p in per_token]           # exact match: all k tokens right (if independent)

print("parameters  one token  whole answer")
for n, p, e in zip(sizes[::4], per_token[::4], exact[::4]):
    print(f"{n:10.0e}  {p:9.0%}  {e:12.1%}")

log_sizes = [math.log10(n) for n in sizes]
LineChart({"one token right": (log_sizes, per_token),
           f"all {k} tokens right": (log_sizes, exact)},
          title="The same model family, scored two ways",
          x_label="model size: log10(parameters)", y_label="probability")
