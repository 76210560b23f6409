// The QEMU driver's lazily loaded slot groups (src/drivers/qemu/lazy-slots.ts): each name list is
// exactly its group's slots, so no slot is lost or left unreachable by the stand-ins.
import assert from "node:assert/strict";
import { test } from "node:test";
import { qemuInfoSlots } from "../src/drivers/qemu/driver-info.js";
import { qemuOpsSlots } from "../src/drivers/qemu/driver-ops.js";
import { qemuApiSlots } from "../src/drivers/qemu/driver-qemu-api.js";
import type { QemuDriverState } from "../src/drivers/qemu/driver-state.js";
import {
  API_SLOTS,
  INFO_SLOTS,
  lazyQemuSlots,
  OPS_SLOTS,
  SNAPSHOT_SLOTS,
} from "../src/drivers/qemu/lazy-slots.js";
import { qemuSnapshotSlots } from "../src/drivers/qemu/snapshot.js";

// building a group only makes closures over the state; none is called here
const st = {} as QemuDriverState;

test("each lazy name list is its group's slots", () => {
  assert.deepEqual([...INFO_SLOTS].sort(), Object.keys(qemuInfoSlots(st)).sort());
  assert.deepEqual([...API_SLOTS].sort(), Object.keys(qemuApiSlots(st)).sort());
  assert.deepEqual([...OPS_SLOTS].sort(), Object.keys(qemuOpsSlots(st)).sort());
  assert.deepEqual([...SNAPSHOT_SLOTS].sort(), Object.keys(qemuSnapshotSlots(st)).sort());
  const all = Object.keys(lazyQemuSlots(st));
  assert.equal(
    new Set(all).size,
    INFO_SLOTS.length + API_SLOTS.length + OPS_SLOTS.length + SNAPSHOT_SLOTS.length,
    "no name in two groups",
  );
});

test("a stand-in loads its group and calls the real slot (its error included)", async () => {
  const bad = { byRef: () => ({ state: 5, def: {}, name: "x", uuid: "u" }) } as unknown as QemuDriverState;
  // nodeGetCPUStats checks its flags first: the real slot's refusal comes back through the stand-in
  await assert.rejects(lazyQemuSlots(bad).nodeGetCPUStats!(-1, 8), /unsupported flags \(0x8\)/);
});
