// Bounded fuzzing of probe/open/read/map/check on mutated qcow2 images: only ImageError may
// escape, nothing hangs. The fixtures are qemu-made (tests/data/images/qcow2/README.md) and are
// also read unmutated against their recorded guest-content hashes.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ImageError, MemoryIO, openImage, probeFormat } from "../src/image/index.js";

const DATA = join(import.meta.dirname, "data/images/qcow2");
const expected: Record<string, string> = JSON.parse(readFileSync(join(DATA, "expected-sha256.json"), "utf8"));
const ITERATIONS = 200;
const STEP_TIMEOUT_MS = 3000;

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`hang: ${what}`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Open, read everything, map, check: the whole read-only surface. */
async function exercise(bytes: Uint8Array): Promise<void> {
  const img = await openImage(new MemoryIO(bytes, { readOnly: true }), {
    format: "qcow2",
    readOnly: true,
    backingChain: false,
  });
  try {
    const size = Math.min(img.virtualSize, 1 << 20);
    const buf = new Uint8Array(size);
    try {
      await img.read(0, buf);
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
    }
    try {
      await img.blockStatus(0, size);
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
    }
    try {
      await img.snapshots?.list();
      await img.checker?.check();
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
    }
  } finally {
    await img.close();
  }
}

for (const name of Object.keys(expected)) {
  const original = new Uint8Array(readFileSync(join(DATA, name)));

  test(`fixture ${name} reads to its recorded contents and checks clean`, async () => {
    const img = await openImage(new MemoryIO(original.slice(), { readOnly: true }), { readOnly: true });
    assert.equal(img.format, "qcow2");
    const buf = new Uint8Array(img.virtualSize);
    await img.read(0, buf);
    assert.equal(createHash("sha256").update(buf).digest("hex"), expected[name]);
    const r = await img.checker!.check();
    assert.equal(r.corruptions + r.leaks + r.checkErrors, 0, r.messages.join("; "));
    await img.close();
  });

  test(`fuzz ${name}: ${ITERATIONS} mutations, only ImageError escapes`, async () => {
    const rnd = rng(name.length * 7919 + original[100]!);
    const metaEnd = Math.min(original.length, 8 * 4096);
    const specials = [0, 0xff, 0x80, 0x7f, 0x01];
    for (let i = 0; i < ITERATIONS; i++) {
      const b = original.slice();
      const edits = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < edits; k++) {
        // Mostly the header, else anywhere in the metadata clusters.
        const at = rnd() < 0.5 ? Math.floor(rnd() * 112) : Math.floor(rnd() * metaEnd);
        const len = 1 + Math.floor(rnd() * 8);
        for (let j = 0; j < len && at + j < b.length; j++) {
          b[at + j] = rnd() < 0.3 ? specials[Math.floor(rnd() * specials.length)]! : Math.floor(rnd() * 256);
        }
      }
      assert.doesNotThrow(() => probeFormat(b.subarray(0, 2048)));
      try {
        await withTimeout(exercise(b), `${name} mutation ${i}`);
      } catch (e) {
        if (!(e instanceof ImageError)) {
          throw new Error(`mutation ${i} of ${name} escaped with ${(e as Error).stack ?? e}`);
        }
      }
    }
  });
}

test("fuzz writes: mutated images take writes and checks without escaping errors or hanging", async () => {
  for (const name of Object.keys(expected)) {
    const original = new Uint8Array(readFileSync(join(DATA, name)));
    const rnd = rng(name.length * 104729 + 17);
    for (let i = 0; i < 30; i++) {
      const b = original.slice();
      for (let k = 0; k < 3; k++) {
        const at = Math.floor(rnd() * Math.min(b.length, 8 * 4096));
        b[at] = Math.floor(rnd() * 256);
      }
      const run = async () => {
        // The cap bounds growth a corrupt refcount structure could ask for.
        const io = new MemoryIO(b, { maxSize: 64 << 20 });
        const img = await openImage(io, { format: "qcow2", backingChain: false });
        try {
          await img.write(Math.floor(rnd() * (img.virtualSize - 70_000)), new Uint8Array(70_000).fill(i));
          await img.checker!.check({ repair: "all" });
        } finally {
          await img.close();
        }
      };
      try {
        await withTimeout(run(), `${name} write mutation ${i}`);
      } catch (e) {
        if (!(e instanceof ImageError))
          throw new Error(`write mutation ${i} of ${name}: ${(e as Error).stack ?? e}`);
      }
    }
  }
});

test("fuzz the LUKS header of an encrypted image: unlock fails cleanly", async () => {
  const { createImage } = await import("../src/image/index.js");
  const mem = new MemoryIO();
  const secrets = { sec0: "pw" };
  await createImage(
    mem,
    "qcow2",
    1 << 20,
    { "encrypt.format": "luks", "encrypt.key-secret": "sec0", "encrypt.iter-time": "1" },
    { secrets },
  );
  const original = await mem.bytes();
  assert.equal(new DataView(original.buffer).getUint32(112), 0x0537be77, "crypto header extension first");
  const cryptoOffset = Number(
    new DataView(original.buffer).getBigUint64(
      // The crypto header extension follows the 112-byte header (type, length, offset, length).
      112 + 8,
    ),
  );
  // Iteration counts are left alone: any value up to the cap is legitimate and merely slow.
  const iterationBytes = new Set<number>([164, 165, 166, 167]);
  for (let i = 0; i < 8; i++) for (let b = 0; b < 4; b++) iterationBytes.add(208 + i * 48 + 4 + b);
  const rnd = rng(2024);
  for (let i = 0; i < 60; i++) {
    const b = original.slice();
    for (let k = 0; k < 3; k++) {
      let at = Math.floor(rnd() * 592);
      while (iterationBytes.has(at)) at = (at + 4) % 592;
      b[cryptoOffset + at] = Math.floor(rnd() * 256);
    }
    try {
      const img = await withTimeout(
        openImage(new MemoryIO(b, { readOnly: true }), { readOnly: true, secrets }),
        `LUKS mutation ${i}`,
      );
      await img.read(0, new Uint8Array(4096));
      await img.close();
    } catch (e) {
      if (!(e instanceof ImageError)) throw new Error(`LUKS mutation ${i}: ${(e as Error).stack ?? e}`);
    }
  }
});

test("probe never throws on random buffers", () => {
  const rnd = rng(42);
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(Math.floor(rnd() * 600));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    if (b.length >= 4 && rnd() < 0.5) b.set([0x51, 0x46, 0x49, 0xfb]);
    probeFormat(b);
  }
});
