"""The parameter file: every learned number, in the safetensors format.

    save("model.safetensors", {"wte": array, ...}, {"config": "{...}", ...})
    tensors, metadata = load("model.safetensors")

safetensors (Hugging Face's format for open-weights models) is three parts:

    8 bytes      N, the length of the header: an unsigned 64-bit little-endian integer
    N bytes      the header: UTF-8 JSON, padded with spaces to a multiple of 8 bytes
                   {"wte": {"dtype": "F32", "shape": [512, 128], "data_offsets": [0, 262144]},
                    ...,
                    "__metadata__": {"config": "...", ...}}    (string values only)
    the rest     the tensors' raw bytes, back to back, little-endian, row-major

data_offsets are [start, end) byte positions counted from the end of the
header. Nothing in the file runs: reading it takes `struct`, `json` and numpy,
which is what run.py does. The checkpoint's metadata carries the model's
configuration and its tokenizer (see checkpoint_metadata), so the parameter
file and run.py are all a reader needs.
"""

from __future__ import annotations

import json
import struct

import numpy as np

# The formats this project writes and reads (the standard allows more: F16, BF16, I64, ...).
DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}
FORMAT = "llm-guide-gpt-v1"  # names this project's layout: GPT-2 style, weight names as in model.py


def save(path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write tensors (name -> float32 or int64 array) and string metadata as one .safetensors file."""
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata maps strings to strings: JSON-encode anything else")
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        dtype = next((code for code, dt in DTYPES.items() if array.dtype.newbyteorder("<") == dt), None)
        if dtype is None:
            raise TypeError(f"{name}: dtype {array.dtype} is not one of {sorted(DTYPES)}")
        blob = np.ascontiguousarray(array, dtype=DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad, so the tensors start 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_header(path) -> tuple[dict, int]:
    """The parsed JSON header and the byte position where the tensor data starts."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: too short to be a safetensors file")
        (n,) = struct.unpack("<Q", head)
        f.seek(0, 2)
        if n > f.tell() - 8:
            raise ValueError(f"{path}: header length {n} exceeds the file; not a safetensors file?")
        f.seek(8)
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: the header is not JSON ({exc})") from None
    return header, 8 + n


def load(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(name -> array, metadata) from a .safetensors file, checking every offset."""
    header, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors, covered = {}, 0
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = t["data_offsets"]
        dtype = DTYPES.get(t["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: {name} has dtype {t['dtype']}, not one of {sorted(DTYPES)}")
        count = int(np.prod(t["shape"], dtype=np.int64))
        if begin != covered or end - begin != count * dtype.itemsize or end > len(data):
            raise ValueError(f"{path}: {name}'s data_offsets {t['data_offsets']} do not fit its shape or the file")
        tensors[name] = np.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(t["shape"])
        covered = end
    if covered != len(data):
        raise ValueError(f"{path}: {len(data) - covered} bytes after the last tensor")
    return tensors, metadata


def checkpoint_metadata(config, tokenizer, name: str) -> dict[str, str]:
    """What run.py needs besides the weights: the architecture's sizes and the tokenizer."""
    return {"format": FORMAT, "checkpoint": name,
            "config": json.dumps(config.to_dict()),
            "tokenizer": json.dumps(tokenizer.to_json(), ensure_ascii=False)}


def save_checkpoint(path, params: dict[str, np.ndarray], config, tokenizer, name: str) -> None:
    """One checkpoint (model.py's params) as a self-contained parameter file."""
    save(path, params, checkpoint_metadata(config, tokenizer, name))
