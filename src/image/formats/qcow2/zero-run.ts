// Finding the used entries of mostly-empty qcow2 tables (L2 tables, the refcount table) and
// zero stretches of check's counts without looking at each entry in JavaScript: one-shot
// processes (tsvirt-img info/check) run these loops in code that is never warm, where a native
// memcmp of a stretch costs less than a few entries' worth of interpreted loads.
//
// Comparisons use the static Buffer.compare of two views: Buffer.prototype.compare with offsets
// validates each of its four offsets through Node's wrapped validators (a rest-arguments call
// each), which in a check of a large table is most of the cost, and whose wrapper then gets
// optimized by TurboFan for nothing.

/** Entries looked at per all-zero test at first (the stretch then doubles while it stays zero). */
export const ZERO_RUN = 64;

let zeros = new Uint8Array(4096);

/** Whether bytes [start, end) of `b` are all zero. */
export function zeroBytes(b: ArrayBufferView, start: number, end: number): boolean {
  const len = end - start;
  if (len <= 0) return true;
  if (zeros.length < len) zeros = new Uint8Array(Math.max(len, zeros.length * 2));
  return (
    Buffer.compare(
      new Uint8Array(b.buffer, b.byteOffset + start, len),
      len === zeros.length ? zeros : new Uint8Array(zeros.buffer, 0, len),
    ) === 0
  );
}

/**
 * The first multiple of ZERO_RUN entries past `i` (entries of `eb` bytes; `i` itself when the
 * stretch at `i` is not all zero) whose ZERO_RUN entries are not all zero bytes, or `n`. Empty
 * stretches are passed in doubling steps: a table used only at its start costs a handful of
 * compares, not one per ZERO_RUN entries.
 */
export function nextNonZero(b: ArrayBufferView, i: number, n: number, eb: number): number {
  let span = ZERO_RUN;
  while (i < n) {
    const end = Math.min(n, i + span);
    if (zeroBytes(b, i * eb, end * eb)) {
      i = end;
      span *= 2;
    } else if (span === ZERO_RUN) return i;
    else span = ZERO_RUN;
  }
  return n;
}
