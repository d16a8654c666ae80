// The schemas that constrained decoding accepts: normalisation (shorthand ->
// JSON Schema), validation of a parsed value, the canonical spelling of
// property names and enum values, and the limits on what a schema may cost.
//
// A port of model_export/schema.py (read its docstring for the supported
// schemas, the shorthand and the limits); the tests check that both agree.
// grammar.js compiles what this module accepts; constrain.js builds the token
// masks on it.
//
//   normalizeSchema({name: "string", age: "integer"}); // the full JSON Schema
//   validate(value, schema);                           // [] when valid
//   encodeLiteral(value);                              // canonical JSON text of a scalar
//
// An ES module with no imports: it runs in the browser and in Node.

export const TYPE_NAMES = ["object", "array", "string", "integer", "number", "boolean", "null"];
const KEYWORDS = new Set(["type", "properties", "required", "items", "enum", "const", "anyOf",
  "minItems", "maxItems", "minLength", "maxLength", "additionalProperties",
  "title", "description", "$schema", "$id", "default", "examples"]);
const IGNORED = new Set(["title", "description", "$schema", "$id", "default", "examples"]);
const SCHEMA_MARKERS = ["properties", "items", "enum", "const", "anyOf"];
const COUNTS = ["minItems", "maxItems", "minLength", "maxLength"];
// Limits that keep a hostile schema from exhausting memory or time (same in schema.py):
export const MAX_SCHEMA_DEPTH = 32; // schemas nested inside schemas
export const MAX_COUNT = 1000000; // minItems, maxItems, minLength, maxLength
export const MAX_NODES = 10000; // compiled nodes
export const MAX_CANDIDATES = 100000; // property names and enum values, summed over every place they can start
export const MAX_MIN_LEN = 1000000; // bytes of the shortest value of any node
export const MAX_READINGS = 256; // stacks alive at once (anyOf and type lists multiply them)

export class SchemaError extends Error {}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
export const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isTypeName = (t) => typeof t === "string" && TYPE_NAMES.includes(t);

// ---------------------------------------------------------------------------
// Schema normalisation (shorthand -> JSON Schema)

function isSchema(d) {
  const t = d.type;
  if (isTypeName(t) || (Array.isArray(t) && t.length && t.every(isTypeName))) return true;
  return SCHEMA_MARKERS.some((k) => has(d, k));
}

function checkCount(v, key) {
  if (!Number.isInteger(v) || v < 0 || v > MAX_COUNT) {
    throw new SchemaError(`${key} must be an integer from 0 to ${MAX_COUNT}`);
  }
  return v;
}

const isScalar = (v) => v === null || ["boolean", "number", "string"].includes(typeof v);

// Objects are built with Object.fromEntries, never by assignment: a property
// named "__proto__" must stay a property (assigning it would set the prototype).
export function normalizeSchema(schema, depth = 0) {
  if (depth > MAX_SCHEMA_DEPTH) throw new SchemaError(`the schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep`);
  depth += 1;
  if (typeof schema === "string") {
    if (!isTypeName(schema)) throw new SchemaError(`unknown type name ${JSON.stringify(schema)}`);
    return { type: schema };
  }
  if (Array.isArray(schema)) {
    if (schema.length !== 1) throw new SchemaError("shorthand for an array is a one-element list [item]");
    return { type: "array", items: normalizeSchema(schema[0], depth) };
  }
  if (!isObj(schema)) throw new SchemaError(`a schema must be an object, a type name or [item]`);
  const normalizeProps = (d) => Object.fromEntries(Object.keys(d).map((k) => [k, normalizeSchema(d[k], depth)]));
  if (!isSchema(schema)) {
    const props = normalizeProps(schema);
    return { type: "object", properties: props, required: Object.keys(props) };
  }
  const out = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!KEYWORDS.has(k)) throw new SchemaError(`unsupported keyword ${JSON.stringify(k)}`);
    if (k === "properties") {
      if (!isObj(v)) throw new SchemaError("properties must be an object");
      out.push([k, normalizeProps(v)]);
    } else if (k === "items") {
      out.push([k, normalizeSchema(v, depth)]);
    } else if (k === "anyOf") {
      if (!Array.isArray(v) || !v.length) throw new SchemaError("anyOf must be a non-empty list");
      out.push([k, v.map((s) => normalizeSchema(s, depth))]);
    } else if (k === "additionalProperties") {
      if (v !== false) throw new SchemaError("only additionalProperties: false is supported (objects are closed)");
    } else if (k === "type") {
      if (!(isTypeName(v) || (Array.isArray(v) && v.length && v.every(isTypeName)))) {
        throw new SchemaError("type must be a type name or a non-empty list of them");
      }
      out.push([k, v]);
    } else if (k === "required") {
      if (!Array.isArray(v) || !v.every((r) => typeof r === "string")) {
        throw new SchemaError("required must be a list of property names");
      }
      out.push([k, v]);
    } else if (COUNTS.includes(k)) {
      out.push([k, checkCount(v, k)]);
    } else if (k === "enum" || k === "const") {
      const values = k === "enum" ? v : [v];
      if (!Array.isArray(values) || !values.length) throw new SchemaError("enum must be a non-empty list");
      if (!values.every(isScalar)) {
        throw new SchemaError("enum/const values must be scalars (string, number, boolean or null)");
      }
      out.push([k, v]);
    } else if (!IGNORED.has(k)) {
      out.push([k, v]);
    }
  }
  return Object.fromEntries(out);
}

// ---------------------------------------------------------------------------
// Validation (of a parsed value; used by the grammar, the agent and the playground)

function jsonType(v) {
  if (v === null) return "null";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  return typeof v;
}

function hasType(v, t) {
  const jt = jsonType(v);
  if (t === "number") return jt === "integer" || jt === "number";
  return jt === t;
}

export function jsonEqual(a, b) {
  const ta = jsonType(a), tb = jsonType(b);
  const num = (t) => t === "integer" || t === "number";
  if (num(ta) && num(tb)) return a === b;
  if (ta !== tb) return false;
  if (ta === "array") return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (ta === "object") {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => has(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

export function validate(value, schema) {
  const errors = [];
  validateInto(value, normalizeSchema(schema), "$", errors);
  return errors;
}

// Errors of v against s, a schema normalizeSchema has already expanded.
export function errorsOf(v, s) {
  const errors = [];
  validateInto(v, s, "$", errors);
  return errors;
}

function validateInto(v, s, path, errors) {
  if (has(s, "anyOf") && !s.anyOf.some((alt) => errorsOf(v, alt).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  if (has(s, "const") && !jsonEqual(v, s.const)) errors.push(`${path}: is not the const ${JSON.stringify(s.const)}`);
  if (has(s, "enum") && !s.enum.some((e) => jsonEqual(v, e))) {
    errors.push(`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  }
  if (has(s, "type")) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => hasType(v, t))) {
      errors.push(`${path}: expected ${types.join("/")}, got ${jsonType(v)}`);
      return;
    }
  }
  if (typeof v === "number" && !Number.isFinite(v)) errors.push(`${path}: number is not finite`);
  if (typeof v === "string") {
    const n = [...v].length;
    if (n < (s.minLength ?? 0)) errors.push(`${path}: shorter than minLength ${s.minLength}`);
    if (has(s, "maxLength") && n > s.maxLength) errors.push(`${path}: longer than maxLength ${s.maxLength}`);
  }
  if (Array.isArray(v)) {
    if (v.length < (s.minItems ?? 0)) errors.push(`${path}: fewer than minItems ${s.minItems}`);
    if (has(s, "maxItems") && v.length > s.maxItems) errors.push(`${path}: more than maxItems ${s.maxItems}`);
    if (has(s, "items")) v.forEach((x, i) => validateInto(x, s.items, `${path}[${i}]`, errors));
  }
  if (isObj(v) && (has(s, "properties") || s.type === "object")) {
    const props = s.properties ?? {};
    for (const name of s.required ?? []) {
      if (!has(v, name)) errors.push(`${path}: missing required property ${JSON.stringify(name)}`);
    }
    for (const [name, x] of Object.entries(v)) {
      if (has(props, name)) validateInto(x, props[name], `${path}.${name}`, errors);
      else errors.push(`${path}: unexpected property ${JSON.stringify(name)}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Canonical encoding of property names and enum values

const SHORT_ESCAPES = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };

export function encodeString(s) {
  let out = '"';
  for (const ch of s) {
    const o = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (o < 0x20) out += SHORT_ESCAPES[o] ?? "\\u" + o.toString(16).padStart(4, "0");
    else if (o >= 0xd800 && o <= 0xdfff) throw new SchemaError("lone surrogates are not supported in names or enum values");
    else out += ch;
  }
  return out + '"';
}

export function encodeLiteral(v) {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return encodeString(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new SchemaError("enum numbers must be finite");
    if (Number.isInteger(v)) {
      if (Math.abs(v) >= 1e15) throw new SchemaError("enum integers must have |v| < 1e15");
      return String(v);
    }
    if (!(Math.abs(v) >= 1e-4 && Math.abs(v) < 1e15)) throw new SchemaError("enum numbers must have 1e-4 <= |v| < 1e15");
    return String(v);
  }
  throw new SchemaError(`enum/const values must be scalars, not ${JSON.stringify(v)}`);
}
