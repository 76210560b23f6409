// The cow (UML COW v2/v3) format's registry entry. qemu-img 7.2 no longer has this driver; the
// options are those qemu's driver had (size, backing_file) plus `version` and `alignment` for v3.

import { stat } from "node:fs/promises";
import { ImageError } from "../../errors.js";
import { registerFormat } from "../../registry.js";
import { CowImage } from "./cow-image.js";
import { isCow } from "./header.js";

export { CowImage } from "./cow-image.js";

registerFormat({
  name: "cow",
  probe: isCow,
  open: (io, opts) => CowImage.open(io, opts),
  async create(io, size, options, ctx) {
    for (const k of Object.keys(options)) {
      if (!["size", "backing_file", "backing_fmt", "version", "alignment"].includes(k)) {
        throw new ImageError("invalid-argument", `Invalid parameter '${k}'`);
      }
    }
    const backing = options.backing_file;
    let mtime = 0;
    if (backing && !(ctx.unsafe && size !== undefined)) {
      const b = await ctx.openImage(backing, options.backing_fmt);
      size ??= b.virtualSize;
      if (b.io.path) mtime = Math.floor((await stat(b.io.path)).mtimeMs / 1000);
      await b.close();
    }
    if (size === undefined) throw new ImageError("invalid-argument", "Image creation needs a size parameter");
    const version = options.version === "3" ? 3 : 2;
    if (options.version && options.version !== "2" && options.version !== "3") {
      throw new ImageError("invalid-argument", `Invalid COW version '${options.version}'`);
    }
    const alignment = options.alignment ? Number(options.alignment) : undefined;
    await CowImage.create(io, size, { backingFile: backing, mtime, version, alignment });
  },
});
