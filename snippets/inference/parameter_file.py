# Open the parameter file with nothing but Python's standard library:
# 8 bytes, a JSON header, then the numbers.
import json
import math
import struct
from guide import artifact_bytes    # the file's bytes (downloaded in the browser)

data = artifact_bytes("model.safetensors")
(header_len,) = struct.unpack("<Q", data[:8])  # 8-byte little-endian integer
header = json.loads(data[8:8 + header_len])    # plain JSON text
meta = header.pop("__metadata__")              # strings: sizes, tokenizer
config = json.loads(meta["config"])

print(f"{'name':<16} {'shape':<12} {'numbers':>8}")
for name, t in header.items():
    if name.startswith("h") and not name.startswith("h0."):
        continue                     # blocks 1, 2, ... repeat block 0's shapes
    print(f"{name:<16} {str(t['shape']):<12} {math.prod(t['shape']):>8,}")
if config["n_layer"] > 1:
    per_block = sum(name.startswith("h0.") for name in header)
    last = config["n_layer"] - 1
    print(f"... and the same {per_block} tensors for each of blocks 1 to {last}")

# The numbers themselves: 4-byte floats, where the header says they are
# (offsets count from the end of the header).
start, end = header["wte"]["data_offsets"]
first = struct.unpack("<4f", data[8 + header_len + start:][:16])
print("\nembedding of token 0 starts:", [round(x, 3) for x in first])

tokenizer = json.loads(meta["tokenizer"])
print("\nconfig:", config)
print(f"tokenizer: {len(tokenizer['merges'])} merges,",
      f"special tokens {tokenizer['special_tokens']}")
