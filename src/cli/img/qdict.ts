// qemu's QDict iteration order and JSON/human dumps of it. qemu-img prints --output=json objects
// (and "Format specific information") by walking a hash table of 512 buckets, so key order is
// a function of the key names: we reproduce that order to print byte-identical output.

/** qemu's qobject/qdict.c tdb_hash (from Samba's tdb), 32-bit unsigned arithmetic. */
export function tdbHash(name: string): number {
  const bytes = Buffer.from(name, "utf8");
  let value = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    value = (value + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  }
  return (Math.imul(1103515243, value) + 12345) >>> 0;
}

const BUCKETS = 512;

/**
 * Keys in the order qemu iterates a QDict built by inserting `keys` in order: by bucket, and
 * within a bucket the most recently inserted first.
 */
export function qdictOrder(keys: string[]): string[] {
  const withIdx = keys.map((k, i) => ({ k, i, b: tdbHash(k) % BUCKETS }));
  withIdx.sort((x, y) => x.b - y.b || y.i - x.i);
  return withIdx.map((x) => x.k);
}

export type QValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | QValue[]
  | { [k: string]: QValue | undefined };

function isDict(v: unknown): v is Record<string, QValue | undefined> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function definedKeys(o: Record<string, QValue | undefined>): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined);
}

function scalar(v: QValue): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return v.toString();
  return String(v);
}

/** qobject_to_json_pretty(): 4-space indent, ": " after keys, qdict key order. */
export function toQemuJson(v: QValue, depth = 0): string {
  const pad = (d: number) => " ".repeat(4 * d);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[\n" + pad(depth) + "]";
    return (
      "[\n" + v.map((x) => pad(depth + 1) + toQemuJson(x, depth + 1)).join(",\n") + "\n" + pad(depth) + "]"
    );
  }
  if (isDict(v)) {
    const keys = qdictOrder(definedKeys(v));
    if (keys.length === 0) return "{\n" + pad(depth) + "}";
    return (
      "{\n" +
      keys.map((k) => `${pad(depth + 1)}${JSON.stringify(k)}: ${toQemuJson(v[k]!, depth + 1)}`).join(",\n") +
      "\n" +
      pad(depth) +
      "}"
    );
  }
  return scalar(v);
}

/** block/qapi.c dump_qobject(): the human "Format specific information" block. */
export function dumpHuman(v: QValue, indent: number, out: string[], prefix?: string): void {
  const pad = " ".repeat(indent * 4);
  const name = (k: string) => k.replace(/-/g, " ");
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (isDict(x) || Array.isArray(x)) {
        out.push(`${pad}[${i}]:`);
        dumpHuman(x, indent + 1, out);
      } else out.push(`${pad}[${i}]: ${humanScalar(x)}`);
    });
    return;
  }
  if (isDict(v)) {
    for (const k of qdictOrder(definedKeys(v))) {
      const x = v[k]!;
      if (isDict(x) || Array.isArray(x)) {
        out.push(`${pad}${name(k)}:`);
        dumpHuman(x, indent + 1, out);
      } else out.push(`${pad}${name(k)}: ${humanScalar(x)}`);
    }
    return;
  }
  out.push(`${pad}${prefix ?? ""}${humanScalar(v)}`);
}

function humanScalar(v: QValue): string {
  if (typeof v === "string") return v;
  return String(v);
}
