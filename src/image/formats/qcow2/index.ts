// The qcow2 format's registry entry and public exports. Spec: qemu docs/interop/qcow2.txt.
// Versions 2 and 3, cluster sizes 512 B..2 MiB, refcount widths 1..64, extended L2 entries,
// zero and (zlib) compressed clusters, backing chains, external data files, internal
// snapshots, LUKS (read/write) and legacy AES (read-only) encryption, check/repair, amend.
// Map: qcow2-image.ts (reads, info) · write-path.ts · block-status.ts · tables.ts (L1/L2) ·
// refcounts.ts · check*.ts · snapshot*.ts · resize.ts · amend.ts · create*.ts · luks*.ts.

import { ImageError } from "../../errors.js";
import { registerFormat } from "../../registry.js";
import { openQcow2 } from "./open.js";

export { openQcow2 } from "./open.js";
export { Qcow2Image } from "./qcow2-image.js";

registerFormat({
  name: "qcow2",
  open: openQcow2,
  async create(io, size, options, ctx) {
    try {
      // Creation code (LUKS, preallocation, the write path) loads only when an image is created.
      const { createQcow2 } = await import("./create.js");
      await createQcow2(io, size, options, ctx);
    } catch (e) {
      // qemu-img checks option names and the size before the driver runs; what qcow2 itself
      // refuses (cluster_size, refcount_bits, compat...) comes after the file was created, and
      // qemu then deletes it (qcow2_co_create_opts), even a file that existed before.
      if (
        e instanceof ImageError &&
        e.kind === "invalid-argument" &&
        !/^(Invalid parameter |Image creation needs a size)/.test(e.message)
      ) {
        ctx.removeTarget?.();
      }
      throw e;
    }
  },
});
