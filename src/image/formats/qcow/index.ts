// The qcow (v1) format's registry entry: probe, open, create with backing_file / encryption.

import { ImageError } from "../../errors.js";
import { registerFormat } from "../../registry.js";
import { isQcow } from "./header.js";
import { QcowImage } from "./qcow-image.js";

export { QcowImage } from "./qcow-image.js";

const OPTIONS = new Set([
  "size",
  "backing_file",
  "backing_fmt",
  "encryption",
  "encrypt.format",
  "encrypt.key-secret",
]);

registerFormat({
  name: "qcow",
  probe: isQcow,
  open: (io, opts) => QcowImage.open(io, opts),
  async create(io, size, options, ctx) {
    for (const k of Object.keys(options)) {
      if (!OPTIONS.has(k)) throw new ImageError("invalid-argument", `Invalid parameter '${k}'`);
    }
    const backing = options.backing_file;
    if (size === undefined) {
      if (!backing) throw new ImageError("invalid-argument", "Image creation needs a size parameter");
      const b = await ctx.openImage(backing, options.backing_fmt);
      size = b.virtualSize;
      await b.close();
    }
    // qemu's qcow_co_create: whole sectors, never empty, and AES needs its secret first.
    size = Math.ceil(size / 512) * 512;
    if (size === 0)
      throw new ImageError("invalid-argument", "Image size is too small, cannot be zero length");
    // qemu's qcow_co_create_opts: the alias clash, then the format enum; only AES exists here.
    // (The alias: on means aes, off is dropped, any other value becomes encrypt.format's.)
    const alias = options.encryption;
    const encFormat = alias !== undefined && alias !== "on" && alias !== "off" ? alias : options["encrypt.format"];
    if (alias !== undefined && alias !== "off" && options["encrypt.format"] !== undefined)
      throw new ImageError(
        "invalid-argument",
        "'encrypt.format' and its alias 'encryption' can't be used at the same time",
      );
    if (encFormat !== undefined && encFormat !== "aes" && encFormat !== "luks")
      throw new ImageError("invalid-argument", `Parameter 'format' does not accept value '${encFormat}'`);
    if (encFormat === "luks") throw new ImageError("unsupported", "Unsupported encryption format");
    const encrypt = alias === "on" || encFormat === "aes";
    if (encrypt && options["encrypt.key-secret"] === undefined)
      throw new ImageError("invalid-argument", "Parameter 'encrypt.key-secret' is required for cipher");
    // The key only has to exist: qemu's legacy AES derives nothing at creation. (Such an image
    // then opens read-only here: writing AES-encrypted clusters is not supported.)
    const id = options["encrypt.key-secret"];
    if (encrypt && ctx.secrets?.[id!] === undefined)
      throw new ImageError("not-found", `No secret with id '${id}' found`);
    await QcowImage.create(io, size, backing, encrypt);
  },
});
