# Dot products of random vectors whose entries have mean 0 and spread (standard deviation) 1:
# their spread grows like sqrt(d), so dividing by sqrt(d) keeps it near 1 at any length.
rng = np.random.default_rng(0)
for d in (3, 64, 512):
    q, k = rng.standard_normal((2, 10_000, d))
    dots = (q * k).sum(axis=1)
    print(f"d = {d:3}: spread of q·k {dots.std():5.1f}, after dividing by sqrt(d) {(dots / np.sqrt(d)).std():.2f}")

stretch = 8
wide = scores * stretch                   # the same scores, as if the vectors were longer
print(f"scores x{stretch}, softmax:", softmax(wide)[1].round(4))
