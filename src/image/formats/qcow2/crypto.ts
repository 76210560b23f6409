// qcow2 encryption dispatch: LUKS (crypt_method 2, header in the crypto extension's clusters)
// and legacy AES-CBC (crypt_method 1, read-only).

import { ImageError } from "../../errors.js";
import type { FormatOpenOptions } from "../../registry.js";
import type { Qcow2Header } from "./header.js";
import type { Qcow2Crypto } from "./qcow2-image.js";
import type { SizedIO } from "./sized-io.js";

export async function openCrypto(
  _io: SizedIO,
  h: Qcow2Header,
  _opts: FormatOpenOptions,
): Promise<Qcow2Crypto> {
  throw new ImageError("unsupported", `qcow2 encryption method ${h.cryptMethod} is not supported yet`);
}
