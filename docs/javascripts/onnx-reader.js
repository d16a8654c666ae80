// Reading an .onnx file in the page: just enough protobuf for the metadata and
// two initializers (the token and position embedding tables), which
// onnxruntime-web does not expose. The bytes may be anything (a damaged
// download, a wrong file): every read is checked against the end of its
// message, so garbage ends in an error, never in an endless loop or a read past
// the end.

import { LoadError } from "./assets.js";

// The bytes may be anything (a damaged download, a wrong file): every read is
// checked against the end of its message, so garbage ends in an error, never in
// an endless loop or a read past the end.

class ProtobufError extends Error {}

// A varint at bytes[pos] (before `end`): [value, next position].
function readVarint(bytes, pos, end) {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) { // protobuf's longest varint (a negative int64)
    if (pos >= end) throw new ProtobufError(`a number runs past the end of its message at byte ${pos}`);
    const b = bytes[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
  throw new ProtobufError(`a number at byte ${pos - 10} is too long`);
}

// Yields [field, wireType, start, end] (end only for length-delimited; start = value for varints).
function* fields(bytes, start, end) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(bytes, pos, end);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new ProtobufError(`field number 0 at byte ${pos}`);
    let next;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(bytes, pos, end);
      yield [field, wire, v, pos];
      continue;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(bytes, pos, end);
      next = pos + len;
    } else if (wire === 1) {
      next = pos + 8;
    } else if (wire === 5) {
      next = pos + 4;
    } else {
      throw new ProtobufError(`unsupported protobuf wire type ${wire} at byte ${pos}`);
    }
    if (next > end) throw new ProtobufError(`a field of ${next - pos} bytes at byte ${pos} runs past the end of its message`);
    yield [field, wire, pos, next];
    pos = next;
  }
}

const utf8 = new TextDecoder();

function readTensor(bytes, start, end) {
  const t = { name: "", dims: [], dataType: 0, raw: null, floats: null };
  for (const [f, w, a, b] of fields(bytes, start, end)) {
    if (f === 1 && w === 0) t.dims.push(a);
    else if (f === 1 && w === 2) for (let p = a; p < b; ) { let d; [d, p] = readVarint(bytes, p, b); t.dims.push(d); }
    else if (f === 2 && w === 0) t.dataType = a;
    else if (f === 8 && w === 2) t.name = utf8.decode(bytes.subarray(a, b));
    else if (f === 9 && w === 2) t.raw = [a, b];
    else if (f === 4 && w === 2) t.floats = [a, b];
  }
  return t;
}

function tensorFloats(bytes, t) {
  const [a, b] = t.raw || t.floats || [0, 0];
  const count = t.dims.reduce((n, d) => n * d, 1);
  if (b - a !== count * 4) {
    throw new ProtobufError(`tensor ${t.name} has ${b - a} bytes of data for ${t.dims.join("x")} floats`);
  }
  return new Float32Array(bytes.slice(a, b).buffer); // copy: aligned, and independent of the file
}

// Returns {metadata: {key: value}, tensors: {name: {dims, data: Float32Array}}} for the wanted
// initializers. Bytes that are not such a file throw a LoadError naming `file`.
export function readOnnx(buffer, wanted = ["wte", "wpe"], file = "model.onnx") {
  const bytes = new Uint8Array(buffer);
  const metadata = {};
  const tensors = {};
  try {
    for (const [f, w, a, b] of fields(bytes, 0, bytes.length)) {
      if (w !== 2) continue;
      if (f === 14) {
        let key = "";
        let value = "";
        for (const [g, , c, d] of fields(bytes, a, b)) {
          if (g === 1) key = utf8.decode(bytes.subarray(c, d));
          else if (g === 2) value = utf8.decode(bytes.subarray(c, d));
        }
        metadata[key] = value;
      } else if (f === 7) {
        for (const [g, gw, c, d] of fields(bytes, a, b)) {
          if (g !== 5 || gw !== 2) continue;
          const t = readTensor(bytes, c, d);
          if (wanted.includes(t.name) && t.dataType === 1) tensors[t.name] = { dims: t.dims, data: tensorFloats(bytes, t) };
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ProtobufError)) throw err;
    throw new LoadError(file, `it is not a readable ONNX file (${err.message})`);
  }
  if (!Object.keys(metadata).length) throw new LoadError(file, "it is not an ONNX file of this site (it has no metadata)");
  return { metadata, tensors };
}
