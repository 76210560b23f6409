// Deep copy of definition data (plain objects, arrays, strings, numbers, booleans): several
// times faster than structuredClone, which serialises through the V8 value serializer.

/** Deep copy of plain data; shared sub-objects come out as separate copies. */
export function clonePlain<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = clonePlain(v[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = clonePlain((v as Record<string, unknown>)[k]);
  return out as T;
}
