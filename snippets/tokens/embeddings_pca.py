# PCA by hand: two numbers per token, chosen to keep as much of the spread as possible.
import numpy as np

rows = json.loads(artifact("embedding_vectors.json"))
X = np.array(rows["vectors"])              # one row of the embedding table per token on the map
print(f"{X.shape[0]} tokens, {X.shape[1]} numbers each")

centred = X - X.mean(axis=0)               # PCA studies the spread around the average point
U, S, Vt = np.linalg.svd(centred, full_matrices=False)
xy = centred @ Vt[:2].T                    # each token's position along the two main directions
share = S**2 / (S**2).sum()                # part of the total spread (variance) along each direction
print(f"direction 1: {share[0]:.1%} of the spread, direction 2: {share[1]:.1%}")
print(f"the other {len(S) - 2} directions together: {share[2:].sum():.1%}")
