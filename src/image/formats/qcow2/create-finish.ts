// Second stage of qcow2 creation: with the skeleton written, opens the image and adds what needs
// the allocator: the LUKS header clusters and preallocated clusters.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { FormatCreateContext } from "../../registry.js";
import type { Qcow2Header } from "./header.js";
import { openQcow2 } from "./open.js";
import { preallocate } from "./preallocate.js";

export async function finishCreate(
  io: BlockIO,
  _h: Qcow2Header,
  o: {
    prealloc: "off" | "metadata" | "falloc" | "full";
    luks: boolean;
    options: Record<string, string>;
    ctx: FormatCreateContext;
  },
): Promise<void> {
  if (o.luks) {
    const { createLuksForQcow2 } = await import("./luks-create.js");
    await createLuksForQcow2(io, _h, o.options, o.ctx);
  }
  if (o.prealloc === "off") return;

  const noBacking = async (): Promise<never> => {
    throw new ImageError("invalid-argument", "backing files are not opened during creation");
  };
  const img = await openQcow2(io, {
    readOnly: false,
    backingChain: false,
    secrets: o.ctx.secrets,
    options: o.options,
    openBacking: noBacking,
    openFile: o.ctx.openFile,
  });
  await preallocate(img, o.prealloc);
  await img.flush();
  if (img.dataIO) await img.dataIO.close();
}
