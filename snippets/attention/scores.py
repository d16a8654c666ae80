# One score by hand: multiply matching entries of a query and a key, then add.
by_hand = sum(q * k for q, k in zip(Q[0], K[1]))
print("Dogs' query · bark's key =", by_hand)

scores = Q @ K.T     # K.T: K turned on its side, so scores[i, j] = query i · key j
print(scores)
