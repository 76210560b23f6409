// The vdi format's registry entry: probe by signature, open, and create with static=on|off.

import { ImageError } from "../../errors.js";
import { registerFormat } from "../../registry.js";
import { isVdi } from "./header.js";
import { VdiImage } from "./vdi-image.js";

export { VdiImage } from "./vdi-image.js";

export function parseBool(v: string | undefined, name: string): boolean {
  if (v === undefined) return false;
  if (v === "on" || v === "true" || v === "yes" || v === "y") return true;
  if (v === "off" || v === "false" || v === "no" || v === "n") return false;
  throw new ImageError("invalid-argument", `Parameter '${name}' expects 'on' or 'off'`);
}

registerFormat({
  name: "vdi",
  probe: isVdi,
  open: (io, opts) => VdiImage.open(io, opts.readOnly),
  async create(io, size, options) {
    if (size === undefined) throw new ImageError("invalid-argument", "Image creation needs a size parameter");
    for (const k of Object.keys(options)) {
      if (k !== "static" && k !== "size")
        throw new ImageError("invalid-argument", `Invalid parameter '${k}'`);
    }
    await VdiImage.create(io, size, { static: parseBool(options.static, "static") });
  },
});
