// Random bytes for identifiers (UUIDs, MACs, seeds) from the kernel's CSPRNG, read from
// /dev/urandom (the pool behind getrandom(2)) rather than through node:crypto: in the daemon,
// loading node:crypto (OpenSSL's initialisation, the module and its code in the Node binary)
// costs ~2 MiB of resident memory measured here, and the target for tsvirtd is 64 MiB
// with 500 domains defined. Where /dev/urandom cannot be opened (a chroot without /dev),
// node:crypto is loaded after all.

import { closeSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";

let fd: number | undefined;
let viaCrypto: ((b: Uint8Array) => void) | undefined;

/** Fills `buf` with random bytes; returns it. */
export function fillRandom<T extends Uint8Array>(buf: T): T {
  if (viaCrypto === undefined && fd === undefined) {
    try {
      fd = openSync("/dev/urandom", "r");
    } catch {
      const { randomFillSync } = createRequire(import.meta.url)(
        "node:crypto",
      ) as typeof import("node:crypto");
      viaCrypto = (b) => randomFillSync(b);
    }
  }
  if (viaCrypto) {
    viaCrypto(buf);
    return buf;
  }
  for (let off = 0; off < buf.length; ) {
    try {
      const n = readSync(fd!, buf, off, buf.length - off, null);
      if (n <= 0) throw new Error("/dev/urandom: short read");
      off += n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EINTR") continue;
      closeSync(fd!);
      fd = undefined;
      throw e;
    }
  }
  return buf;
}
