// qcow2 encryption layer: LUKS (crypt_method 2; header in the clusters the crypto extension
// names; IVs from the host offset) and legacy AES-CBC (crypt_method 1; IVs from the guest offset,
// read-only). Without a key secret the image still opens for info, and data access is refused.

import { createCipheriv, createDecipheriv } from "node:crypto";
import { ImageError } from "../../errors.js";
import type { FormatOpenOptions, SecretMap } from "../../registry.js";
import { CRYPT_AES, type Qcow2Header } from "./header.js";
import { type LuksHeader, parseLuksHeader, SECTOR, sectorCipher, unlock } from "./luks.js";
import type { Qcow2Crypto } from "./qcow2-image.js";
import type { SizedIO } from "./sized-io.js";

/** The LUKS header region qemu writes is about 2 MiB; refuse anything far larger. */
const MAX_CRYPTO_HEADER = 16 << 20;

/** The key secret: `encrypt.key-secret` names it; otherwise 'sec0' or the only secret given. */
export function pickSecret(
  secrets: SecretMap | undefined,
  options: Record<string, string> | undefined,
): Uint8Array | undefined {
  if (!secrets) return undefined;
  const id = options?.["encrypt.key-secret"];
  let v: string | Uint8Array | undefined;
  if (id !== undefined) {
    v = secrets[id];
    if (v === undefined) throw new ImageError("not-found", `No secret with id '${id}' found`);
  } else {
    const keys = Object.keys(secrets);
    v = secrets.sec0 ?? (keys.length === 1 ? secrets[keys[0]!] : undefined);
  }
  if (v === undefined) return undefined;
  return typeof v === "string" ? new TextEncoder().encode(v) : v;
}

function locked(): never {
  throw new ImageError("encrypted", "The image is encrypted: a key secret (encrypt.key-secret) is required");
}

export async function openCrypto(io: SizedIO, h: Qcow2Header, opts: FormatOpenOptions): Promise<Qcow2Crypto> {
  const password = pickSecret(opts.secrets, opts.options);
  if (h.cryptMethod === CRYPT_AES) return legacyAes(password);
  const ext = h.crypto!;
  if (ext.length > MAX_CRYPTO_HEADER || ext.length < 592) {
    throw new ImageError("format", `Invalid LUKS header length ${ext.length}`);
  }
  if (ext.offset + ext.length > io.length + 2 ** h.clusterBits) {
    throw new ImageError("corrupt", "LUKS header lies past the end of the file");
  }
  const bytes = new Uint8Array(ext.length);
  await io.read(ext.offset, bytes);
  const lh = parseLuksHeader(bytes, ext.length);
  const key = password ? unlock(lh, bytes, password) : undefined;
  const crypt = key ? sectorCipher(lh.parsedMode, key) : undefined;
  return {
    physical: true,
    format: "luks",
    locked: key === undefined,
    encrypt: (off, buf) => (crypt ? crypt(off / SECTOR, buf, true) : locked()),
    decrypt: (off, buf) => (crypt ? crypt(off / SECTOR, buf, false) : locked()),
    info: () => luksInfo(lh),
  };
}

/** qemu-img info's `encrypt` object for LUKS (format-specific data). */
function luksInfo(h: LuksHeader): Record<string, unknown> {
  const m = h.parsedMode;
  return {
    "ivgen-alg": m.ivgen,
    "hash-alg": h.hashSpec,
    "cipher-alg": `aes-${(m.mode === "xts" ? h.keyBytes / 2 : h.keyBytes) * 8}`,
    uuid: h.uuid,
    ...(m.ivHash !== undefined ? { "ivgen-hash-alg": m.ivHash } : {}),
    format: "luks",
    "cipher-mode": m.mode,
    slots: h.slots.map((s) =>
      s.active
        ? { active: true, iters: s.iterations, "key-offset": s.keyOffsetSector * SECTOR, stripes: s.stripes }
        : { active: false, "key-offset": s.keyOffsetSector * SECTOR },
    ),
    "payload-offset": h.payloadOffsetSector * SECTOR,
    "master-key-iters": h.mkDigestIterations,
  };
}

/** Legacy qcow2 AES: AES-128-CBC, key = the password's first 16 bytes, IV = plain64 sector. */
function legacyAes(password: Uint8Array | undefined): Qcow2Crypto {
  const key = password ? new Uint8Array(16) : undefined;
  if (key && password) key.set(password.subarray(0, 16));
  /** AES-128-CBC per 512-byte sector, IV the little-endian sector number (plain64). */
  const cbc = (encrypt: boolean, off: number, buf: Uint8Array) => {
    if (!key) locked();
    const iv = Buffer.alloc(16);
    for (let p = 0; p < buf.length; p += SECTOR) {
      const sector = off / SECTOR + p / SECTOR;
      iv.writeUInt32LE(sector >>> 0, 0);
      iv.writeUInt32LE(Math.floor(sector / 0x100000000), 4);
      const c = encrypt ? createCipheriv("aes-128-cbc", key, iv) : createDecipheriv("aes-128-cbc", key, iv);
      c.setAutoPadding(false);
      const chunk = buf.subarray(p, p + SECTOR);
      chunk.set(c.update(chunk));
      c.final();
    }
  };
  return {
    physical: false,
    format: "aes",
    locked: key === undefined,
    encrypt: (off, buf) => cbc(true, off, buf),
    decrypt: (off, buf) => cbc(false, off, buf),
    info: () => ({ format: "aes" }),
  };
}
