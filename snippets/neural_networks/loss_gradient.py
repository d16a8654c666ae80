# How hard does each loss push the right token's logit up? The slope of the loss
# with respect to that logit (the next chapter computes such slopes in general).
# Cross-entropy after softmax: dL/dz_i = p_i - y_i, with y = 1 for the right token.
# Squared error on the probabilities, L = sum_i (p_i - y_i)^2, has to pass
# through the softmax's own slope, dp_i/dz_j = p_i * ((i == j) - p_j).
def slopes_at_correct_logit(logits):
    p = softmax(logits)
    y = [1.0 if i == correct else 0.0 for i in range(len(p))]
    ce_slope = p[correct] - 1.0
    se_slope = sum(2 * (p[i] - y[i]) * p[i] * ((i == correct) - p[correct]) for i in range(len(p)))
    return ce_slope, se_slope

slopes = {}
print(f"{'slope at mat':17}{'cross-':>8}{'squared':>9}")
print(f"{'':17}{'entropy':>8}{'error':>9}")
for name, logits in models.items():
    slopes[name] = slopes_at_correct_logit(logits)
    print(f"{name:<17}{slopes[name][0]:8.4f}{slopes[name][1]:9.4f}")
