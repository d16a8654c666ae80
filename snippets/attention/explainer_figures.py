explainer_weights = np.array([[0.35, 0.65], [0.36, 0.64]])   # as such explainers print them
row_gaps = scores[:, 1] - scores[:, 0]    # softmax only sees the gap between a row's scores
print("gap in each row:", row_gaps)
print("largest difference from plain softmax :", np.abs(explainer_weights - plain).max().round(4))
print("largest difference from scaled softmax:", np.abs(explainer_weights - scaled).max().round(4))
