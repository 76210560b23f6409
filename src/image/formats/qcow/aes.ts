// Legacy qcow AES (crypt_method 1), decrypt only: AES-128-CBC per 512-byte sector, the key being
// the passphrase's first 16 bytes zero-padded and the IV the guest sector number ("plain64"), as
// qemu's crypto/block-qcow.c describes. Insecure by design; kept so old images can be read.

import { createDecipheriv } from "node:crypto";

export class QcowAes {
  private readonly key: Buffer;

  constructor(secret: string | Uint8Array) {
    const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
    this.key = Buffer.alloc(16);
    bytes.copy(this.key, 0, 0, Math.min(16, bytes.length));
  }

  /** Decrypts whole sectors in place; `guestOffset` is the guest byte offset of data[0]. */
  decryptSectors(data: Uint8Array, guestOffset: number): void {
    for (let s = 0; s + 512 <= data.length; s += 512) {
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64LE(BigInt((guestOffset + s) / 512), 0);
      const d = createDecipheriv("aes-128-cbc", this.key, iv);
      d.setAutoPadding(false);
      const plain = Buffer.concat([d.update(data.subarray(s, s + 512)), d.final()]);
      data.set(plain, s);
    }
  }
}
