stated_output = np.array([[1.0, 3.3, 1.05], [1.0, 3.28, 1.08]])

out_scaled = scaled @ V              # each row: a weighted average of the value rows
out_plain = plain @ V
out_from_stated = stated @ V         # the source's own rounded weights, carried through

print("scaled weights @ V:\n", out_scaled.round(4))
print("plain  weights @ V:\n", out_plain.round(4))
print("stated weights @ V:\n", out_from_stated.round(4))
