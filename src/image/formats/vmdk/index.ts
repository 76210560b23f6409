// The vmdk format's registry entry: sparse/stream extents by magic, text descriptors by content.

import { registerFormat } from "../../registry.js";
import { createVmdk } from "./create.js";
import { isVmdkSparse } from "./sparse-header.js";
import { VmdkImage } from "./vmdk-image.js";

export { VmdkImage } from "./vmdk-image.js";

registerFormat({
  name: "vmdk",
  probe: isVmdkSparse,
  open: (io, opts) => VmdkImage.open(io, opts),
  create: createVmdk,
});
