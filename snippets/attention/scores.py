scores = Q @ K.T                     # scores[i, j] = how well query i matches key j
print(scores)
