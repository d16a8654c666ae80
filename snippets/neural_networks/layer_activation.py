z = xW_plus_b                        # the weighted sums, in the convention that gives [0.47, -0.08]

relu = np.maximum(z, 0.0)            # keep positives, zero the rest
sigmoid = 1.0 / (1.0 + np.exp(-z))   # squash into (0, 1)

print("z        =", z.round(4))
print("ReLU(z)  =", relu.round(4))
print("sigmoid  =", sigmoid.round(4))
