// Where generated identifiers (UUIDs, MAC addresses) take their random bytes from.
//
// Normally the system's CSPRNG, drawn 4 KiB at a time (one read per 256 UUIDs: a read per UUID
// cost a sixth of a define); each identifier consumes its own bytes. A define whose
// outcome is made durable by replaying it after a crash (the QEMU driver's define intents, see
// src/state/xml-journal-store.ts) parses with a seeded source instead, so that the replay
// generates the very UUID and MACs the client was told about: the seed (16 bytes from the CSPRNG)
// is recorded with the intent, and the stream it yields is xoshiro128** (Blackman and Vigna),
// which needs only integer arithmetic: no hash from node:crypto, whose code would be one more
// part of the Node binary paged into the daemon (~0.7 MiB of RSS measured).

import { fillRandom } from "../../util/random-bytes.js";

/** Gives `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array;

let scoped: RandomSource | undefined;

const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/**
 * `n` (at most 4096) fresh bytes for an identifier: from the source withRandomSource() set, else
 * from the CSPRNG pool. The caller may change them in place; none is handed out twice.
 */
export function identifierBytes(n: number): Uint8Array {
  if (scoped) return scoped(n);
  if (n > POOL.length) throw new RangeError("identifierBytes: at most 4096 bytes");
  if (poolAt + n > POOL.length) {
    fillRandom(POOL);
    poolAt = 0;
  }
  return POOL.subarray(poolAt, (poolAt += n));
}

/** Runs `fn` (synchronously) with `source` as the source of generated identifiers. */
export function withRandomSource<T>(source: RandomSource | undefined, fn: () => T): T {
  if (source === undefined) return fn();
  const prev = scoped;
  scoped = source;
  try {
    return fn();
  } finally {
    scoped = prev;
  }
}

/**
 * A deterministic stream from `seed` (16 bytes: xoshiro128**'s state; all zero is replaced):
 * the same seed yields the same bytes, call after call. Not for secrets: identifiers only.
 */
export function seededRandom(seed: Uint8Array): RandomSource {
  if (seed.length !== 16) throw new Error("seededRandom: the seed is 16 bytes");
  const v = new DataView(seed.buffer, seed.byteOffset, 16);
  let s0 = v.getUint32(0, true);
  let s1 = v.getUint32(4, true);
  let s2 = v.getUint32(8, true);
  let s3 = v.getUint32(12, true);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  let word = 0;
  let left = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (left === 0) {
        const m = Math.imul(s1, 5);
        word = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        left = 4;
      }
      out[i] = word & 0xff;
      word >>>= 8;
      left--;
    }
    return out;
  };
}
