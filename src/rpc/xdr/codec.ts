// Composable XDR codecs (RFC 4506 types as data): primitives, struct, arrays, optional-data,
// discriminated unions. The procedure table declares every argument and reply with these.
import type { XdrReader } from "./reader.js";
import { xdrError } from "./xdr-error.js";
import type { XdrWriter } from "./writer.js";

export interface Codec<T> {
  /** Human-readable shape, for error messages and tests. */
  readonly kind: string;
  /** Smallest number of bytes one encoded value takes (used to bound array lengths). */
  readonly minSize: number;
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

function prim<T>(kind: string, minSize: number, enc: (w: XdrWriter, v: T) => void, dec: (r: XdrReader) => T) {
  return { kind, minSize, encode: enc, decode: dec } as Codec<T>;
}

export const xvoid: Codec<undefined> = prim(
  "void",
  0,
  () => {},
  () => undefined,
);
export const int: Codec<number> = prim(
  "int",
  4,
  (w, v) => w.int(v),
  (r) => r.int(),
);
export const uint: Codec<number> = prim(
  "unsigned int",
  4,
  (w, v) => w.uint(v),
  (r) => r.uint(),
);
export const hyper: Codec<bigint> = prim<bigint>(
  "hyper",
  8,
  (w, v) => w.hyper(v),
  (r) => r.hyper(),
);
export const uhyper: Codec<bigint> = prim<bigint>(
  "unsigned hyper",
  8,
  (w, v) => w.uhyper(v),
  (r) => r.uhyper(),
);
export const bool: Codec<boolean> = prim(
  "bool",
  4,
  (w, v) => w.bool(v),
  (r) => r.bool(),
);
export const float: Codec<number> = prim(
  "float",
  4,
  (w, v) => w.float(v),
  (r) => r.float(),
);
export const double: Codec<number> = prim(
  "double",
  8,
  (w, v) => w.double(v),
  (r) => r.double(),
);

/** RFC 4506 §4.3 enum: an int restricted to the declared values. */
export function enumeration(name: string, values: readonly number[]): Codec<number> {
  const allowed = new Set(values);
  return prim(
    `enum ${name}`,
    4,
    (w, v) => {
      if (!allowed.has(v)) throw xdrError(`XDR: ${v} is not a value of enum ${name}`);
      w.int(v);
    },
    (r) => {
      const v = r.int();
      if (!allowed.has(v)) throw xdrError(`XDR: ${v} is not a value of enum ${name}`);
      return v;
    },
  );
}

export function fixedOpaque(n: number): Codec<Buffer> {
  return prim(
    `opaque[${n}]`,
    (n + 3) & ~3,
    (w, v) => w.fixedOpaque(v, n),
    (r) => r.fixedOpaque(n),
  );
}

export function varOpaque(max: number): Codec<Buffer> {
  return prim(
    `opaque<${max}>`,
    4,
    (w, v) => w.varOpaque(v, max),
    (r) => r.varOpaque(max),
  );
}

export function string(max: number): Codec<string> {
  return prim(
    `string<${max}>`,
    4,
    (w, v) => w.string(v, max),
    (r) => r.string(max),
  );
}

/** RFC 4506 §4.12 fixed-length array T[n]. */
export function fixedArray<T>(item: Codec<T>, n: number): Codec<T[]> {
  return prim(
    `${item.kind}[${n}]`,
    item.minSize * n,
    (w, v) => {
      if (v.length !== n) throw xdrError(`XDR: ${item.kind}[${n}] given ${v.length} items`);
      for (const x of v) item.encode(w, x);
    },
    (r) => {
      if (item.minSize * n > r.remaining) throw xdrError(`XDR: truncated ${item.kind}[${n}]`);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(r));
      return out;
    },
  );
}

/** RFC 4506 §4.13 variable-length array T<max>. */
export function array<T>(item: Codec<T>, max: number): Codec<T[]> {
  return prim(
    `${item.kind}<${max}>`,
    4,
    (w, v) => {
      if (v.length > max) throw xdrError(`XDR: ${v.length} items exceed ${item.kind}<${max}>`);
      w.uint(v.length);
      for (const x of v) item.encode(w, x);
    },
    (r) => {
      const n = r.length(max, `${item.kind} array`, Math.max(1, item.minSize));
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(r));
      return out;
    },
  );
}

/** RFC 4506 §4.19 optional-data (`T *`): a bool then the value. null/undefined = absent. */
export function optional<T>(item: Codec<T>): Codec<T | null> {
  return prim(
    `${item.kind} *`,
    4,
    (w, v) => {
      if (v === null || v === undefined) {
        w.uint(0);
      } else {
        w.uint(1);
        item.encode(w, v);
      }
    },
    (r) => {
      const present = r.uint();
      if (present === 0) return null;
      if (present !== 1) throw xdrError(`XDR: bad optional-data flag ${present}`);
      return item.decode(r);
    },
  );
}

export type StructOf<F extends Record<string, Codec<any>>> = { [K in keyof F]: Infer<F[K]> };

/** RFC 4506 §4.14 struct: fields in declaration order (object key order). */
export function struct<F extends Record<string, Codec<any>>>(
  name: string,
  fields: F,
): Codec<StructOf<F>> & {
  fields: F;
} {
  const entries = Object.entries(fields);
  const keys = entries.map(([k]) => k);
  const codecs = entries.map(([, c]) => c);
  const minSize = entries.reduce((s, [, c]) => s + c.minSize, 0);
  // Compiled on first use: the procedure tables declare ~800 structs and a process uses a few
  // dozen (compiling all of them up front added ~25 ms to loading the tables).
  const codec: Codec<StructOf<F>> & { fields: F } = {
    kind: name,
    minSize,
    fields,
    encode(w, v) {
      compile();
      codec.encode(w, v);
    },
    decode(r) {
      compile();
      return codec.decode(r);
    },
  };
  const compile = () => {
    const c = compileStruct(name, keys, codecs);
    codec.encode = c.encode;
    codec.decode = c.decode;
  };
  return codec;
}

/** Adds the failing field to an encode error's message (once, innermost field first). */
function noteField(e: unknown, name: string, key: string | undefined): void {
  if (e instanceof Error && !e.message.includes(" in field ")) e.message += ` in field ${name}.${key}`;
}

/**
 * A struct's encode/decode as straight-line code for its own fields: `{ a: c0.decode(r), … }`
 * builds each decoded value with one fixed shape, and `v["a"]` reads are named loads, where a
 * loop over the key list made every access a megamorphic keyed one and grew each decoded object
 * one map transition at a time. The source is built from JSON-quoted field names only.
 */
function compileStruct(
  name: string,
  keys: string[],
  codecs: Codec<any>[],
): { encode: (w: XdrWriter, v: any) => void; decode: (r: XdrReader) => any } {
  const q = keys.map((k) => JSON.stringify(k));
  const locals = codecs.map((_, i) => `const c${i} = codecs[${i}];`).join("\n");
  const enc = q.map((k, i) => `i = ${i}; c${i}.encode(w, v[${k}]);`).join("\n");
  const dec = q.map((k, i) => `${k}: c${i}.decode(r)`).join(", ");
  const src = `${locals}
return {
  encode(w, v) {
    if (v === null || typeof v !== "object") throw xdrError(needs);
    let i = 0;
    try {
      ${enc}
    } catch (e) {
      noteField(e, name, keys[i]);
      throw e;
    }
  },
  decode(r) {
    return { ${dec} };
  },
};`;
  const make = new Function("codecs", "keys", "name", "needs", "xdrError", "noteField", src);
  return make(codecs, keys, name, `XDR: ${name} needs an object`, xdrError, noteField);
}

export interface UnionValue<T = unknown> {
  type: number;
  value: T;
}

/** RFC 4506 §4.15 discriminated union over an int discriminant; unknown arms are refused. */
export function union(name: string, arms: Record<number, Codec<any>>): Codec<UnionValue> {
  return {
    kind: `union ${name}`,
    minSize: 4,
    encode(w, v) {
      const arm = arms[v.type];
      if (!arm) throw xdrError(`XDR: ${v.type} is not an arm of union ${name}`);
      w.int(v.type);
      arm.encode(w, v.value);
    },
    decode(r) {
      const type = r.int();
      const arm = arms[type];
      if (!arm) throw xdrError(`XDR: ${type} is not an arm of union ${name}`);
      return { type, value: arm.decode(r) };
    },
  };
}

/** A codec that maps a wire value to a friendlier in-memory form (e.g. uuid bytes ↔ string). */
export function mapped<W, T>(inner: Codec<W>, kind: string, to: (w: W) => T, from: (t: T) => W): Codec<T> {
  return {
    kind,
    minSize: inner.minSize,
    encode: (w, v) => inner.encode(w, from(v)),
    decode: (r) => to(inner.decode(r)),
  };
}
