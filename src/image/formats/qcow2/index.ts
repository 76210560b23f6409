// The qcow2 format's registry entry and public exports. Spec: qemu docs/interop/qcow2.txt.
// Versions 2 and 3, cluster sizes 512 B..2 MiB, refcount widths 1..64, extended L2 entries,
// zero and (zlib) compressed clusters, backing chains, external data files, internal
// snapshots, LUKS (read/write) and legacy AES (read-only) encryption, check/repair, amend.
// Map: qcow2-image.ts (reads, info) · write-path.ts · block-status.ts · tables.ts (L1/L2) ·
// refcounts.ts · check*.ts · snapshot*.ts · resize.ts · amend.ts · create*.ts · luks*.ts.

import { registerFormat } from "../../registry.js";
import { createQcow2 } from "./create.js";
import { openQcow2 } from "./open.js";

export { createQcow2 } from "./create.js";
export { openQcow2 } from "./open.js";
export { Qcow2Image } from "./qcow2-image.js";

registerFormat({
  name: "qcow2",
  open: openQcow2,
  create: createQcow2,
});
