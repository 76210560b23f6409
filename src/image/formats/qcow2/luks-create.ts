// Placeholder until LUKS creation lands: refuses encrypt.format=luks.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { FormatCreateContext } from "../../registry.js";

export async function createLuksForQcow2(
  _io: BlockIO,
  _o: Record<string, string>,
  _ctx: FormatCreateContext,
): Promise<void> {
  throw new ImageError("unsupported", "LUKS encryption is not supported yet");
}
