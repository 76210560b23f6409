// LUKS1 (the on-disk format qemu's qcow2 `encrypt.format=luks` embeds in the crypto header
// clusters): header codec, PBKDF2 key-slot unlock with AF-merge, master-key digest check, and
// AES sector encryption through node:crypto in the modes qemu creates (xts, cbc, ecb, ctr) with
// its IV generators (plain, plain64, essiv:<hash>). Spec: LUKS On-Disk Format 1.2.3.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  pbkdf2Sync,
  randomBytes,
  randomUUID,
} from "node:crypto";
import { be32, putBe16, putBe32 } from "../../bytes.js";
import { ImageError } from "../../errors.js";

export const LUKS_MAGIC = [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe];
export const LUKS_HEADER_BYTES = 592;
export const SECTOR = 512;
export const STRIPES = 4000;
export const KEY_SLOTS = 8;
export const SLOT_ACTIVE = 0x00ac71f3;
export const SLOT_DISABLED = 0x0000dead;
/**
 * PBKDF2 iteration ceiling: qemu's 2 s benchmark yields a few million; a header asking for
 * billions would stall the opener, so it is refused as malformed.
 */
export const MAX_ITERATIONS = 100_000_000;
/** Key slots start at 4 KiB and are 4 KiB aligned (qemu crypto/block-luks.c). */
const SLOT_ALIGN_SECTORS = 8;

export interface LuksSlot {
  active: boolean;
  iterations: number;
  salt: Uint8Array;
  keyOffsetSector: number;
  stripes: number;
}

/** A LUKS cipher mode string ("xts-plain64", "cbc-essiv:sha256", …) taken apart. */
export interface LuksMode {
  mode: "xts" | "cbc" | "ecb" | "ctr";
  ivgen: "plain" | "plain64" | "essiv";
  /** essiv's hash. */
  ivHash?: string;
}

export interface LuksHeader {
  cipherName: string;
  cipherMode: string;
  /** cipherMode parsed. */
  parsedMode: LuksMode;
  hashSpec: string;
  payloadOffsetSector: number;
  keyBytes: number;
  mkDigest: Uint8Array;
  mkDigestSalt: Uint8Array;
  mkDigestIterations: number;
  uuid: string;
  slots: LuksSlot[];
}

const dec = new TextDecoder();
const enc = new TextEncoder();

function cstr(b: Uint8Array, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return dec.decode(z < 0 ? s : s.subarray(0, z));
}

function bad(msg: string): ImageError {
  return new ImageError("format", msg);
}

/** Digest sizes of the hashes a LUKS header may name (qemu's QCryptoHashAlgorithm). */
const HASHES: Record<string, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  ripemd160: 20,
};
export const HASH_ALGS = Object.keys(HASHES);
export type LuksHash = "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512" | "ripemd160";

export function parseLuksHeader(b: Uint8Array, available: number): LuksHeader {
  if (b.length < LUKS_HEADER_BYTES) throw bad("LUKS header is truncated");
  for (let i = 0; i < 6; i++) if (b[i] !== LUKS_MAGIC[i]) throw bad("Volume is not in LUKS format");
  const version = (b[6]! << 8) | b[7]!;
  if (version !== 1) throw new ImageError("unsupported", `LUKS version ${version} is not supported`);
  const h: LuksHeader = {
    cipherName: cstr(b, 8, 32),
    cipherMode: cstr(b, 40, 32),
    parsedMode: { mode: "xts", ivgen: "plain64" },
    hashSpec: cstr(b, 72, 32),
    payloadOffsetSector: be32(b, 104),
    keyBytes: be32(b, 108),
    mkDigest: b.slice(112, 132),
    mkDigestSalt: b.slice(132, 164),
    mkDigestIterations: be32(b, 164),
    uuid: cstr(b, 168, 40),
    slots: [],
  };
  if (h.cipherName !== "aes")
    throw new ImageError("unsupported", `Cipher '${h.cipherName}' is not supported`);
  const pm = parseLuksMode(h.cipherMode);
  if (!pm) throw new ImageError("unsupported", `Cipher mode '${h.cipherMode}' is not supported`);
  h.parsedMode = pm;
  if (!(h.hashSpec in HASHES)) throw new ImageError("unsupported", `Hash '${h.hashSpec}' is not supported`);
  const single = pm.mode === "xts" ? h.keyBytes / 2 : h.keyBytes;
  if (single !== 16 && single !== 24 && single !== 32)
    throw bad(`LUKS key length ${h.keyBytes} is invalid for AES-${pm.mode.toUpperCase()}`);
  if (pm.ivgen === "essiv") essivAlg(pm.ivHash!);
  if (h.mkDigestIterations === 0) throw bad("LUKS master key digest iterations are zero");
  if (h.mkDigestIterations > MAX_ITERATIONS)
    throw bad("LUKS master key digest iterations are implausibly high");
  for (let i = 0; i < KEY_SLOTS; i++) {
    const o = 208 + i * 48;
    const state = be32(b, o);
    if (state !== SLOT_ACTIVE && state !== SLOT_DISABLED) throw bad(`Keyslot ${i} state is corrupted`);
    const slot: LuksSlot = {
      active: state === SLOT_ACTIVE,
      iterations: be32(b, o + 4),
      salt: b.slice(o + 8, o + 40),
      keyOffsetSector: be32(b, o + 40),
      stripes: be32(b, o + 44),
    };
    if (slot.stripes !== STRIPES)
      throw bad(`Keyslot ${i} is corrupted (stripes ${slot.stripes} != ${STRIPES})`);
    const end = slot.keyOffsetSector * SECTOR + Math.ceil((h.keyBytes * STRIPES) / SECTOR) * SECTOR;
    if (slot.keyOffsetSector * SECTOR < LUKS_HEADER_BYTES || end > available) {
      throw bad(`Keyslot ${i} key material lies outside the LUKS header`);
    }
    if (slot.active && (slot.iterations === 0 || slot.iterations > MAX_ITERATIONS)) {
      throw bad(`Keyslot ${i} iteration count ${slot.iterations} is out of range`);
    }
    h.slots.push(slot);
  }
  return h;
}

/** "<mode>-<ivgen>[:<hash>]" as qemu splits it; undefined for what is not supported here. */
export function parseLuksMode(spec: string): LuksMode | undefined {
  const m = /^(xts|cbc|ecb|ctr)-(plain|plain64|essiv)(?::(\w+))?$/.exec(spec);
  if (!m) return undefined;
  const ivgen = m[2] as LuksMode["ivgen"];
  if ((ivgen === "essiv") !== (m[3] !== undefined)) return undefined;
  if (m[3] !== undefined && !(m[3] in HASHES)) return undefined;
  return { mode: m[1] as LuksMode["mode"], ivgen, ...(m[3] ? { ivHash: m[3] } : {}) };
}

/** qemu's qcrypto_block_luks_essiv_cipher for AES: the AES whose key is as long as the digest. */
function essivAlg(hash: string): string {
  const n = HASHES[hash]!;
  if (n !== 16 && n !== 24 && n !== 32)
    throw new ImageError("unsupported", `No AES cipher with key size ${n} available`);
  return `aes-${n * 8}-ecb`;
}

/** Refuses an essiv hash without an AES of its digest's length, as qemu's create does. */
export function essivCheck(hash: string): void {
  essivAlg(hash);
}

/** The IV of each sector from the mode's generator (keyed by `key` for essiv). */
function ivGenerator(m: LuksMode, key: Uint8Array): (sector: number) => Buffer {
  const le = (sector: number, wide: boolean) => {
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(sector >>> 0, 0);
    if (wide) iv.writeUInt32LE(Math.floor(sector / 0x100000000) >>> 0, 4);
    return iv;
  };
  if (m.ivgen !== "essiv") return (sector) => le(sector, m.ivgen === "plain64");
  const salt = createHash(m.ivHash!).update(key).digest();
  const alg = essivAlg(m.ivHash!);
  return (sector) => {
    const c = createCipheriv(alg, salt, null);
    c.setAutoPadding(false);
    return c.update(le(sector, true));
  };
}

/**
 * AES-192-XTS, which OpenSSL does not offer: the XTS construction over AES-192-ECB (tweak from
 * the second key half, multiplied by x in GF(2^128) per 16-byte block).
 */
function xts192(key: Uint8Array, iv: Buffer, chunk: Uint8Array, encrypt: boolean): void {
  const k1 = key.subarray(0, 24);
  const k2 = key.subarray(24, 48);
  const t = Buffer.alloc(16);
  const buf = Buffer.alloc(SECTOR);
  const e2 = createCipheriv("aes-192-ecb", k2, null);
  e2.setAutoPadding(false);
  t.set(e2.update(iv));
  const tweaks = Buffer.alloc(SECTOR);
  for (let b = 0; b < SECTOR; b += 16) {
    tweaks.set(t, b);
    for (let i = 0; i < 16; i++) buf[b + i] = chunk[b + i]! ^ t[i]!;
    // t *= x (little-endian bytes, reduction polynomial 0x87)
    let carry = 0;
    for (let i = 0; i < 16; i++) {
      const v = (t[i]! << 1) | carry;
      carry = v >> 8;
      t[i] = v & 0xff;
    }
    if (carry) t[0] = t[0]! ^ 0x87;
  }
  const c = encrypt ? createCipheriv("aes-192-ecb", k1, null) : createDecipheriv("aes-192-ecb", k1, null);
  c.setAutoPadding(false);
  const out = c.update(buf);
  for (let i = 0; i < SECTOR; i++) chunk[i] = out[i]! ^ tweaks[i]!;
}

/** A sector cipher: en/decrypts whole 512-byte sectors in place, numbered from `sector0`. */
export type SectorCipher = (sector0: number, data: Uint8Array, encrypt: boolean) => void;

/** The sector cipher of a LUKS mode and key (the master key, or a slot key for its material). */
export function sectorCipher(m: LuksMode, key: Uint8Array): SectorCipher {
  const ivFor = ivGenerator(m, key);
  const bits = (m.mode === "xts" ? key.length / 2 : key.length) * 8;
  return (sector0, data, encrypt) => {
    for (let off = 0; off < data.length; off += SECTOR) {
      const sector = sector0 + off / SECTOR;
      const chunk = data.subarray(off, off + SECTOR);
      if (m.mode === "xts" && bits === 192) {
        xts192(key, ivFor(sector), chunk, encrypt);
        continue;
      }
      const alg = `aes-${bits}-${m.mode}`;
      const iv = m.mode === "ecb" ? null : ivFor(sector);
      const c = encrypt ? createCipheriv(alg, key, iv) : createDecipheriv(alg, key, iv);
      c.setAutoPadding(false);
      const out = c.update(chunk);
      c.final();
      chunk.set(out);
    }
  };
}

const XTS_PLAIN64: LuksMode = { mode: "xts", ivgen: "plain64" };
export function xtsEncrypt(key: Uint8Array, sector0: number, data: Uint8Array): void {
  sectorCipher(XTS_PLAIN64, key)(sector0, data, true);
}
export function xtsDecrypt(key: Uint8Array, sector0: number, data: Uint8Array): void {
  sectorCipher(XTS_PLAIN64, key)(sector0, data, false);
}

/** LUKS anti-forensic diffuse: hash each digest-sized chunk with its big-endian index. */
function diffuse(d: Uint8Array, hash: string): Uint8Array {
  const hl = HASHES[hash]!;
  const out = new Uint8Array(d.length);
  const idx = new Uint8Array(4);
  for (let i = 0; i * hl < d.length; i++) {
    putBe32(idx, 0, i);
    const chunk = d.subarray(i * hl, Math.min(d.length, (i + 1) * hl));
    const h = createHash(hash).update(idx).update(chunk).digest();
    out.set(h.subarray(0, chunk.length), i * hl);
  }
  return out;
}

export function afMerge(material: Uint8Array, keyBytes: number, stripes: number, hash: string): Uint8Array {
  let d: Uint8Array = new Uint8Array(keyBytes);
  for (let s = 0; s < stripes - 1; s++) {
    const block = material.subarray(s * keyBytes, (s + 1) * keyBytes);
    for (let i = 0; i < keyBytes; i++) d[i] = d[i]! ^ block[i]!;
    d = diffuse(d, hash);
  }
  const last = material.subarray((stripes - 1) * keyBytes, stripes * keyBytes);
  const key = new Uint8Array(keyBytes);
  for (let i = 0; i < keyBytes; i++) key[i] = d[i]! ^ last[i]!;
  return key;
}

export function afSplit(key: Uint8Array, stripes: number, hash: string): Uint8Array {
  const n = key.length;
  const out = new Uint8Array(n * stripes);
  let d: Uint8Array = new Uint8Array(n);
  for (let s = 0; s < stripes - 1; s++) {
    const block = randomBytes(n);
    out.set(block, s * n);
    for (let i = 0; i < n; i++) d[i] = d[i]! ^ block[i]!;
    d = diffuse(d, hash);
  }
  const last = new Uint8Array(n);
  for (let i = 0; i < n; i++) last[i] = d[i]! ^ key[i]!;
  out.set(last, (stripes - 1) * n);
  return out;
}

/** Tries every active key slot; returns the master key or throws 'encrypted'. */
export function unlock(h: LuksHeader, headerBytes: Uint8Array, password: Uint8Array): Uint8Array {
  try {
    return unlockSlots(h, headerBytes, password);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    // OpenSSL refuses some keys (e.g. XTS halves that are equal): still just "cannot unlock".
    throw new ImageError("encrypted", `Cannot unlock the LUKS header: ${(e as Error).message}`, { cause: e });
  }
}

function unlockSlots(h: LuksHeader, headerBytes: Uint8Array, password: Uint8Array): Uint8Array {
  const materialLen = h.keyBytes * STRIPES;
  const sectors = Math.ceil(materialLen / SECTOR);
  for (const slot of h.slots) {
    if (!slot.active) continue;
    const slotKey = pbkdf2Sync(password, slot.salt, slot.iterations, h.keyBytes, h.hashSpec);
    const start = slot.keyOffsetSector * SECTOR;
    const material = headerBytes.slice(start, start + sectors * SECTOR);
    sectorCipher(h.parsedMode, slotKey)(0, material, false);
    const mk = afMerge(material, h.keyBytes, STRIPES, h.hashSpec);
    const digest = pbkdf2Sync(mk, h.mkDigestSalt, h.mkDigestIterations, 20, h.hashSpec);
    if (Buffer.from(digest).equals(Buffer.from(h.mkDigest))) return mk;
  }
  throw new ImageError("encrypted", "Invalid password, cannot unlock any keyslot");
}

/** PBKDF2 iterations that take about `ms` milliseconds here (qemu benchmarks the same way). */
export function iterationsFor(ms: number, hash: string): number {
  const probe = 10000;
  const t0 = process.hrtime.bigint();
  pbkdf2Sync("probe", "saltsaltsaltsalt", probe, 32, hash);
  const took = Number(process.hrtime.bigint() - t0) / 1e6;
  return Math.max(1000, Math.floor((probe * ms) / Math.max(took, 0.001)));
}

/**
 * Builds a complete LUKS1 header region (header + 8 slot areas, slot 0 holding `password`):
 * AES-XTS-plain64 (256-bit by default, or 128-bit), SHA-256 by default, 4000 stripes, qemu's
 * slot layout.
 */
export function buildLuks(
  password: Uint8Array,
  iterTimeMs: number,
  opts: { keyBytes?: number; hash?: LuksHash; mode?: LuksMode } = {},
): { bytes: Uint8Array; masterKey: Uint8Array } {
  const keyBytes = opts.keyBytes ?? 64;
  const mode = opts.mode ?? XTS_PLAIN64;
  const hash = opts.hash ?? "sha256";
  const mk = randomBytes(keyBytes);
  const splitSectors = Math.ceil((keyBytes * STRIPES) / SECTOR);
  const slotStride = Math.ceil(splitSectors / SLOT_ALIGN_SECTORS) * SLOT_ALIGN_SECTORS;
  const payloadSector = SLOT_ALIGN_SECTORS + slotStride * KEY_SLOTS;
  const bytes = new Uint8Array(payloadSector * SECTOR);
  bytes.set(LUKS_MAGIC, 0);
  putBe16(bytes, 6, 1);
  bytes.set(enc.encode("aes"), 8);
  bytes.set(
    enc.encode(`${mode.mode}-${mode.ivgen}${mode.ivgen === "essiv" ? `:${mode.ivHash}` : ""}`),
    40,
  );
  bytes.set(enc.encode(hash), 72);
  putBe32(bytes, 104, payloadSector);
  putBe32(bytes, 108, keyBytes);
  const iters = iterationsFor(iterTimeMs, hash);
  const mkIters = Math.max(1000, Math.floor(iters / 8));
  const mkSalt = randomBytes(32);
  bytes.set(pbkdf2Sync(mk, mkSalt, mkIters, 20, hash), 112);
  bytes.set(mkSalt, 132);
  putBe32(bytes, 164, mkIters);
  bytes.set(enc.encode(randomUUID()), 168);
  for (let i = 0; i < KEY_SLOTS; i++) {
    const o = 208 + i * 48;
    const keyOffset = SLOT_ALIGN_SECTORS + slotStride * i;
    putBe32(bytes, o, i === 0 ? SLOT_ACTIVE : SLOT_DISABLED);
    putBe32(bytes, o + 40, keyOffset);
    putBe32(bytes, o + 44, STRIPES);
    if (i !== 0) continue;
    const salt = randomBytes(32);
    putBe32(bytes, o + 4, iters);
    bytes.set(salt, o + 8);
    const material = new Uint8Array(splitSectors * SECTOR);
    material.set(afSplit(mk, STRIPES, hash));
    sectorCipher(mode, pbkdf2Sync(password, salt, iters, keyBytes, hash))(0, material, true);
    bytes.set(material, keyOffset * SECTOR);
  }
  return { bytes, masterKey: mk };
}
