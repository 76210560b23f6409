// The vmdk format's registry entry: sparse/stream extents by magic, text descriptors by content.

import { registerFormat } from "../../registry.js";
import { isVmdkSparse } from "./sparse-header.js";
import { VmdkImage } from "./vmdk-image.js";

export { VmdkImage } from "./vmdk-image.js";

registerFormat({
  name: "vmdk",
  probe: isVmdkSparse,
  open: (io, opts) => VmdkImage.open(io, opts),
  // Creation code (and node:crypto for the CID) loads only when an image is created.
  create: async (io, size, options, ctx) => (await import("./create.js")).createVmdk(io, size, options, ctx),
});
