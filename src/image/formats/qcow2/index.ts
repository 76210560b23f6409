// The qcow2 format's registry entry and public exports.

import { registerFormat } from "../../registry.js";
import { createQcow2 } from "./create.js";
import { openQcow2 } from "./open.js";

export { Qcow2Image } from "./qcow2-image.js";
export { openQcow2 } from "./open.js";
export { createQcow2 } from "./create.js";

registerFormat({
  name: "qcow2",
  open: openQcow2,
  create: createQcow2,
});
