// Where generated identifiers (UUIDs, MAC addresses) take their random bytes from.
//
// Normally the system's CSPRNG (each caller keeps a small pool of its bytes). A define whose
// outcome is made durable by replaying it after a crash (the QEMU driver's define intents, see
// src/state/xml-journal-store.ts) parses with a seeded source instead, so that the replay
// generates the very UUID and MACs the client was told about: the seed is recorded with the
// intent, and the stream it yields is SHA-256(seed ‖ counter), 32 bytes a block.

import { createHash } from "node:crypto";

/** Gives `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array;

let scoped: RandomSource | undefined;

/** `n` bytes from the source withRandomSource() set, or undefined outside one (use the CSPRNG). */
export function scopedRandom(n: number): Uint8Array | undefined {
  return scoped?.(n);
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

/** A deterministic stream from `seed`: the same seed yields the same bytes, call after call. */
export function seededRandom(seed: Uint8Array): RandomSource {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return (n) => {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      if (at === block.length) {
        const c = Buffer.allocUnsafe(4);
        c.writeUInt32LE(counter++ >>> 0, 0);
        block = createHash("sha256").update(seed).update(c).digest();
        at = 0;
      }
      out[i] = block[at++]!;
    }
    return out;
  };
}
