// check's last pass (qemu's check_oflag_copied): the COPIED flag of every active L1 and L2
// entry must say whether the cluster's refcount is exactly 1; repaired in place when allowed.
// `l2Clean`: the count pass already established that every active L2 entry is consistent
// (check.ts, CheckState.cop), so only the L1 entries are looked at.

import { be32 } from "../../bytes.js";
import type { CheckResult } from "../../image.js";
import { FIX_ERRORS, FIX_LEAKS, hex, hostWords, nextNonZero, ZERO_RUN } from "./check.js";
import { OFLAG_COMPRESSED_HI, OFLAG_COPIED_HI, OFLAG_ZERO_LO } from "./l2-entry.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { encodeL1 } from "./tables.js";

export async function checkCopiedFlags(
  img: Qcow2Image,
  res: CheckResult,
  fix: number,
  l2Clean = false,
): Promise<void> {
  const repair =
    fix & FIX_ERRORS ? true : fix & FIX_LEAKS ? !res.checkErrors && !res.corruptions && !res.leaks : false;
  const t = img.tables;
  // Refcounts (which this pass does not change) of the block last looked at, decoded at once.
  const per = img.refs.perBlock;
  let countsBase = 0;
  let countsEnd = 0; // none loaded yet
  let counts: ArrayLike<number> | undefined | null;
  const cs = img.cs;
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
    if (l2Clean || e.offset % img.cs !== 0) continue;
    const table = new Uint8Array(img.cs);
    await img.io.read(e.offset, table);
    let dirty = false;
    const words = hostWords(table);
    const wpe = t.entryBytes / 4;
    const ext = img.extL2;
    const dataFile = img.hasDataFile;
    const bytes = Buffer.from(table.buffer, table.byteOffset, table.length);
    const n = t.l2Entries;
    const plain = !ext && !dataFile;
    // Flag, reserved and in-cluster offset bits of an entry's low word (zero when aligned).
    const csLow = (cs - 1) | 0x1ff;
    const cb = img.header.clusterBits;
    for (let j = 0; j < n; j++) {
      // Runs of all-zero entries (nothing allocated, no flag) are skipped at once.
      if (j % ZERO_RUN === 0 && words[j * wpe] === 0 && words[j * wpe + 1] === 0) {
        j = nextNonZero(bytes, j, n, t.entryBytes);
        if (j >= n) break;
      }
      // decodeL2's view of the entry, read from host-order words without a call per field.
      const hi = words[j * wpe]!;
      const lo = words[j * wpe + 1]!;
      // The usual entry of a standard table: COPIED, no other flag, an aligned cluster whose
      // refcount (in the block at hand) is 1. Consistent: nothing more to look at.
      if (plain && hi < 0 && (hi & 0x7f000000) === 0 && (lo & csLow) === 0 && counts) {
        const hiOff = hi & 0x00ffffff; // (small-integer arithmetic below 2 GiB, as in checkL2)
        const ci = hiOff === 0 && lo >= 0 ? lo >> cb : (hiOff * 0x100000000 + (lo >>> 0)) / cs;
        if (ci >= countsBase && ci < countsEnd && ci !== 0 && counts[ci - countsBase] === 1) continue;
      }
      if (hi & OFLAG_COMPRESSED_HI) continue;
      const host = (hi & 0x00ffffff) * 0x100000000 + ((lo & ~0x1ff) >>> 0); // offsetOf(), inline
      if (host === 0 && !dataFile) continue;
      const copied = (hi & OFLAG_COPIED_HI) !== 0;
      // normal: allocated; zero: a standard entry's zero flag (with or without a host offset).
      const zero = !ext && (lo & OFLAG_ZERO_LO) !== 0;
      if (!zero && !(host !== 0 || (dataFile && copied))) continue;
      let r = 1;
      if (!dataFile) {
        const ci = Math.floor(host / cs);
        if (ci < countsBase || ci >= countsEnd) {
          const rti = Math.floor(ci / per);
          countsBase = rti * per;
          countsEnd = countsBase + per;
          try {
            counts = await img.refs.blockCounts(rti);
          } catch {
            counts = null;
          }
        }
        if (counts === null) {
          // The block cannot be decoded at once: ask per cluster (an unreadable one is skipped).
          try {
            r = img.refs.peek(ci) ?? (await img.refs.get(ci));
          } catch {
            continue;
          }
        } else r = counts === undefined ? 0 : counts[ci - countsBase]!;
      }
      if ((r === 1) !== copied) {
        res.corruptions++;
        res.messages.push(
          `${repair ? "Repairing" : "ERROR"} OFLAG_COPIED data cluster: l2_entry=${hex(hi, lo)} refcount=${r}`,
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
