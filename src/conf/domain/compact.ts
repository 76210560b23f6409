// Leaner storage of a finished definition (after the driver's post-parse), without changing its
// content: a daemon keeps one DomainDef per defined domain, and the way the parse and post-parse
// build it leaves slack V8 does not give back by itself. Measured on bench/rpc-define.ts's
// domain after the QEMU post-parse (heap snapshot, bytes per definition): lists filled by push
// keep a 17-slot backing store (152 bytes) however few entries they hold (~12 lists, ~1.5 KB);
// attribute values of 13 characters or more are slices that keep the whole define XML text
// alive (~370 bytes); strings built by concatenation (the UUID) are chains of cons cells
// (~400 bytes); values such as "0x0000", "pci" or "virtio" are separate copies in every
// definition.

/**
 * Rewrites `def` in place: every non-empty array becomes an exact-size copy, every string one
 * that keeps no larger string alive, shared with equal strings of other definitions up to the
 * tables' bounds (see intern). Objects keep their
 * identity; arrays are new ones (nothing outside the definition refers to them after parsing).
 * Only plain data is walked: other objects (Map, class instances) are left as they are.
 */
export function compactDomainDef<T extends object>(def: T): T {
  compactObject(def as Record<string, unknown>);
  return def;
}

function compactObject(o: Record<string, unknown>): void {
  for (const k in o) {
    const v = o[k];
    if (typeof v === "string") {
      // (no store when the value is the shared string already, as the scanner's cached values
      // often are: a store by a computed key is a megamorphic one)
      const t = intern(v);
      if (t !== v) o[k] = t;
    } else if (typeof v === "object" && v !== null) {
      if (Array.isArray(v)) {
        if (v.length !== 0) o[k] = k === "attrs" || k === "rootAttrs" ? compactAttrs(v) : compactArray(v);
      } else if (isPlain(v)) compactObject(v as Record<string, unknown>);
    }
  }
}

/** An attribute list (XmlElement.attrs, a definition's kept attributes): [name, value] pairs. */
function compactAttrs(a: unknown[]): unknown[] {
  if (a.length === 0) return a;
  const out = a.slice();
  for (let i = 0; i < out.length; i++) {
    const p = out[i];
    if (Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string") {
      out[i] = sharedPair(p[0], p[1]);
    } else if (typeof p === "object" && p !== null) out[i] = Array.isArray(p) ? compactArray(p) : p;
  }
  return out;
}

function compactArray(a: unknown[]): unknown[] {
  if (a.length === 0) return a; // a [] literal has no backing store
  const out = a.slice();
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (typeof v === "string") out[i] = intern(v);
    else if (typeof v === "object" && v !== null) {
      if (Array.isArray(v)) out[i] = compactArray(v);
      else if (isPlain(v)) compactObject(v as Record<string, unknown>);
    }
  }
  return out;
}

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * Short strings (all an XML slice can be without keeping its parent) are shared through a bounded
 * table: the same values recur in every definition, while unique ones (names, MACs) only fill the
 * table up to its bound. Longer ones may be slices of the XML text or concatenations: they are
 * copied out of them (flatCopy); those of up to LONG_SHARED characters are also shared through a
 * second, smaller table, so that the ones every definition has (the emulator's path, the machine
 * type) are found there rather than copied again.
 */
const SHORT = 13;
const SHARED_MAX = 4096;
const shared = new Map<string, string>();
/** Attribute pairs of short strings, by name then value (same bound). */
const pairs = new Map<string, Map<string, readonly [string, string]>>();
let pairCount = 0;

/**
 * One frozen [name, value] for equal attribute pairs of all definitions ("domain"/"0x0000",
 * "type"/"raw"...: 64 bytes each, ~20 per definition of the bench). Nothing writes into a pair
 * (attribute lists are replaced or spliced, not their entries); were it tried, the frozen pair
 * throws instead of changing every definition at once.
 */
function sharedPair(k: string, v: string): readonly [string, string] {
  if (k.length >= SHORT || v.length >= SHORT) return [intern(k), intern(v)];
  let byValue = pairs.get(k);
  let p = byValue?.get(v);
  if (p === undefined) {
    if (pairCount >= SHARED_MAX) return [intern(k), intern(v)];
    p = Object.freeze([intern(k), intern(v)] as const);
    if (byValue === undefined) pairs.set(k, (byValue = new Map()));
    byValue.set(v, p);
    pairCount++;
  }
  return p;
}

/** Long strings of up to this length are shared too (paths, machine types), in a smaller table. */
const LONG_SHARED = 64;
const LONG_SHARED_MAX = 512;
const sharedLong = new Map<string, string>();

function intern(s: string): string {
  if (s.length < SHORT) {
    const t = shared.get(s);
    if (t !== undefined) return t;
    if (shared.size < SHARED_MAX) shared.set(s, s);
    return s;
  }
  // The same long values recur in every definition too (the emulator's path, the machine type):
  // one copy for all, found without copying the string again.
  const share = s.length <= LONG_SHARED;
  if (share) {
    const t = sharedLong.get(s);
    if (t !== undefined) return t;
  }
  const c = flatCopy(s);
  if (share && sharedLong.size < LONG_SHARED_MAX) sharedLong.set(c, c);
  return c;
}

/**
 * A copy of `s` that keeps nothing else alive (not a slice of the XML text, not a chain of
 * concatenations). Slicing `s + " "` makes V8 flatten that into one new sequential string and
 * hand back a slice of it: ~0.1 us, where internalizing `s` (using it as a property name of a
 * dictionary object, which looks it up in V8's string table and copies it there on a miss) took
 * ~1 us in a daemon's loop of defines, whose unique strings keep growing the table. The slice
 * header and the extra character cost ~40 bytes per string (~160 per definition of the bench,
 * measured with heapUsed over 5000 kept definitions: 4501 against 4338); a JSON round trip is
 * as compact as internalizing and not faster.
 */
function flatCopy(s: string): string {
  return (s + " ").slice(0, -1);
}
