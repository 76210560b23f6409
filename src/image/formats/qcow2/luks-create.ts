// encrypt.format=luks at create time: builds the LUKS header region, allocates clusters for it
// through the refcounts, writes it, and points the header's crypto extension at it.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { FormatCreateContext } from "../../registry.js";
import { pickSecret } from "./crypto.js";
import { CRYPT_LUKS, encodeHeader, type Qcow2Header } from "./header.js";
import { buildLuks, essivCheck, HASH_ALGS, type LuksHash, type LuksMode } from "./luks.js";
import { Refcounts } from "./refcounts.js";

/**
 * qemu's QAPI enums of the LUKS create options, checked in its field order: a name outside them
 * is refused as qemu's visitor does (before any of the create's own checks); a valid one this
 * implementation cannot do is refused later.
 */
export function checkLuksEnums(o: Record<string, string>): void {
  const ENUMS: [string, string[]][] = [
    [
      "cipher-alg",
      ["aes-128", "aes-192", "aes-256", "des", "3des", "cast5-128", "serpent-128", "serpent-192"].concat([
        "serpent-256",
        "twofish-128",
        "twofish-192",
        "twofish-256",
      ]),
    ],
    ["cipher-mode", ["ecb", "cbc", "xts", "ctr"]],
    ["ivgen-alg", ["plain", "plain64", "essiv"]],
    ["ivgen-hash-alg", HASH_ALGS],
    ["hash-alg", HASH_ALGS],
  ];
  for (const [k, values] of ENUMS) {
    const v = o[`encrypt.${k}`];
    if (v !== undefined && !values.includes(v))
      throw new ImageError("invalid-argument", `Parameter '${k}' does not accept value '${v}'`);
  }
}

export async function createLuksForQcow2(
  io: BlockIO,
  h: Qcow2Header,
  o: Record<string, string>,
  ctx: FormatCreateContext,
): Promise<void> {
  checkLuksEnums(o);
  if (o["encrypt.key-secret"] === undefined) {
    throw new ImageError("invalid-argument", "Parameter 'encrypt.key-secret' is required for cipher");
  }
  const password = pickSecret(ctx.secrets, o);
  if (!password) throw new ImageError("not-found", `No secret with id '${o["encrypt.key-secret"]}' found`);
  // (The key secret is looked up first, as qemu's LUKS create does; then what this
  // implementation cannot do.)
  const alg = o["encrypt.cipher-alg"] ?? "aes-256";
  if (alg !== "aes-256" && alg !== "aes-192" && alg !== "aes-128") {
    throw new ImageError(
      "unsupported",
      `encrypt.cipher-alg=${alg} is not supported (aes-256, aes-192, aes-128)`,
    );
  }
  const hash = (o["encrypt.hash-alg"] ?? "sha256") as LuksHash;
  const mode: LuksMode = {
    mode: (o["encrypt.cipher-mode"] ?? "xts") as LuksMode["mode"],
    ivgen: (o["encrypt.ivgen-alg"] ?? "plain64") as LuksMode["ivgen"],
  };
  // (essiv hashes the key with ivgen-hash-alg, sha256 by default; its AES must exist.)
  if (mode.ivgen === "essiv") {
    mode.ivHash = o["encrypt.ivgen-hash-alg"] ?? "sha256";
    essivCheck(mode.ivHash);
  }
  const iterTime = o["encrypt.iter-time"] !== undefined ? Number(o["encrypt.iter-time"]) : 2000;
  if (!Number.isFinite(iterTime) || iterTime <= 0)
    throw new ImageError("invalid-argument", "Invalid encrypt.iter-time");
  const single = alg === "aes-128" ? 16 : alg === "aes-192" ? 24 : 32;
  const { bytes } = buildLuks(password, iterTime, {
    keyBytes: mode.mode === "xts" ? single * 2 : single,
    hash,
    mode,
  });
  const cs = 2 ** h.clusterBits;
  const refs = await Refcounts.load(
    io,
    h.clusterBits,
    h.refcountOrder,
    h.refcountTableOffset,
    h.refcountTableClusters,
    async (off, n) => {
      h.refcountTableOffset = off;
      h.refcountTableClusters = n;
      await io.write(0, encodeHeader(h, cs));
    },
  );
  const clusters = Math.ceil(bytes.length / cs);
  const off = await refs.alloc(clusters);
  const region = new Uint8Array(clusters * cs);
  region.set(bytes);
  await io.write(off, region);
  h.cryptMethod = CRYPT_LUKS;
  h.crypto = { offset: off, length: bytes.length };
  await io.write(0, encodeHeader(h, cs));
}
