out = scaled @ V                          # each row: a weighted average of the value rows
print("output:\n", out.round(3))

explainer_output = np.array([[1.0, 3.3, 1.05], [1.0, 3.28, 1.08]])
print("the explainers' rounded weights carried through:\n", (explainer_weights @ V).round(3))
