// The raw format's registry entry: open, and create with preallocation off/falloc/full.

import { ImageError } from "../../errors.js";
import { registerFormat } from "../../registry.js";
import { RawImage } from "./raw-image.js";

export { RawImage } from "./raw-image.js";

registerFormat({
  name: "raw",
  open: (io, opts) => RawImage.open(io, opts.readOnly),
  async create(io, size, options) {
    if (size === undefined) throw new ImageError("invalid-argument", "Image creation needs a size parameter");
    const prealloc = options.preallocation ?? "off";
    if (!["off", "falloc", "full"].includes(prealloc)) {
      throw new ImageError(
        "invalid-argument",
        prealloc === "metadata"
          ? "Unsupported preallocation mode: metadata"
          : `invalid parameter value: ${prealloc}`,
      );
    }
    // The file protocol rounds a new file up to whole 512-byte sectors (qemu's raw create).
    size = Math.ceil(size / 512) * 512;
    await io.truncate(size);
    // qemu's file driver allocates the first block of a new file (allocate_first_block).
    if (size > 0 && prealloc === "off" && io.path !== undefined)
      await io.write(0, new Uint8Array(Math.min(4096, size)));
    if (prealloc === "falloc" && size > 0 && io.preallocate && (await io.preallocate(0, size))) {
      // fallocate() reserves the blocks (they read as zeros and map as holes); qemu then
      // allocates the first block by writing it.
      await io.write(0, new Uint8Array(Math.min(4096, size)));
      return;
    }
    if (prealloc !== "off" && size > 0) {
      // Without fallocate(), both preallocation modes write zeros so blocks are really allocated.
      const chunk = new Uint8Array(Math.min(size, 1 << 20));
      for (let pos = 0; pos < size; pos += chunk.length) {
        await io.write(pos, chunk.subarray(0, Math.min(chunk.length, size - pos)));
      }
    }
  },
});
