// check's last pass (qemu's check_oflag_copied): the COPIED flag of every active L1 and L2
// entry must say whether the cluster's refcount is exactly 1; repaired in place when allowed.

import { be32 } from "../../bytes.js";
import type { CheckResult } from "../../image.js";
import { FIX_ERRORS, FIX_LEAKS, hex } from "./check.js";
import { decodeL2 } from "./l2-entry.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { encodeL1 } from "./tables.js";

export async function checkCopiedFlags(img: Qcow2Image, res: CheckResult, fix: number): Promise<void> {
  const repair =
    fix & FIX_ERRORS ? true : fix & FIX_LEAKS ? !res.checkErrors && !res.corruptions && !res.leaks : false;
  const t = img.tables;
  for (let i = 0; i < t.l1.length; i++) {
    const e = t.l1[i]!;
    if (e.offset === 0) continue;
    let rc: number;
    try {
      rc = await img.refs.get(e.offset / img.cs);
    } catch {
      continue;
    }
    if ((rc === 1) !== e.copied) {
      res.corruptions++;
      const raw = encodeL1([e], 8);
      res.messages.push(
        `${repair ? "Repairing" : "ERROR"} OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${hex(be32(raw, 0), be32(raw, 4))} refcount=${rc}`,
      );
      if (repair) {
        e.copied = rc === 1;
        await t.writeL1Entry(i);
        res.corruptions--;
        res.corruptionsFixed++;
      }
    }
    if (e.offset % img.cs !== 0) continue;
    const table = new Uint8Array(img.cs);
    await img.io.read(e.offset, table);
    let dirty = false;
    const eb = t.entryBytes;
    for (let j = 0; j < t.l2Entries; j++) {
      // An all-zero entry is unallocated (host 0, COPIED clear): nothing to compare.
      if (be32(table, j * eb) === 0 && be32(table, j * eb + 4) === 0) continue;
      const m = decodeL2(table, j, img.extL2, img.header.clusterBits, img.hasDataFile);
      if (m.kind === "compressed" || (m.host === 0 && !img.hasDataFile)) continue;
      if (m.kind !== "normal" && m.kind !== "zero") continue;
      let r = 1;
      if (!img.hasDataFile) {
        try {
          const ci = Math.floor(m.host / img.cs);
          // Cached refcount blocks answer without a promise per cluster.
          r = img.refs.peek(ci) ?? (await img.refs.get(ci));
        } catch {
          continue;
        }
      }
      if ((r === 1) !== m.copied) {
        res.corruptions++;
        res.messages.push(
          `${repair ? "Repairing" : "ERROR"} OFLAG_COPIED data cluster: l2_entry=${hex(m.hi, m.lo)} refcount=${r}`,
        );
        if (repair) {
          const o = j * t.entryBytes;
          table[o] = r === 1 ? table[o]! | 0x80 : table[o]! & 0x7f;
          dirty = true;
          res.corruptions--;
          res.corruptionsFixed++;
        }
      }
    }
    if (dirty) {
      await img.io.write(e.offset, table);
      t.forget(e.offset);
    }
  }
}
