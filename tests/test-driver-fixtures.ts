// Shared fixtures for the test-driver differential scenarios: each scenario runs on a fresh
// test:///default in both real libvirt (python-libvirt) and tsvirt. UUIDs are given explicitly
// and snapshot names fixed so outputs are comparable byte for byte.

import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Op } from "./test-driver-ops.js";

export const DATA = join(dirname(fileURLToPath(import.meta.url)), "data", "test-driver");

/** A save image the scenarios write (both sides in turn); test-driver-diff removes it. */
export const SAVE_BW = join(tmpdir(), `tsvirt-scenario-${process.pid}.sav`);

export const U1 = "11111111-2222-3333-4444-000000000001";
export const U2 = "11111111-2222-3333-4444-000000000002";
export const dom = (name: string, uuid: string, extra = "") =>
  `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid><memory>1048576</memory><currentMemory>524288</currentMemory><vcpu current='1'>4</vcpu><os><type>hvm</type></os>${extra}<devices><disk type='file' device='disk'><source file='/var/lib/x.img'/><target dev='vda' bus='virtio'/></disk><disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk><interface type='network'><mac address='52:54:00:11:22:33'/><source network='default'/></interface></devices></domain>`;
export const FOO = dom("foo", U1);
export const BAR = dom("bar", U2, "<on_poweroff>restart</on_poweroff>");
export const LIST_FLAGS = [
  0,
  1,
  2,
  4,
  8,
  16,
  32,
  64,
  128,
  256,
  512,
  1024,
  2048,
  4096,
  8192,
  16384,
  32768,
  3,
  1 | 4,
  2 | 16,
];
export const SNAP_FLAGS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4 | 1, 32 | 64];

export const listAll = (): Op[] => LIST_FLAGS.map((f) => ["conn.listAll", f] as Op);
export const st = (n: string): Op[] => [
  ["dom.state", n],
  ["dom.info", n],
  ["dom.id", n],
];

export const NET = (name: string, br: string, uuid: string) =>
  `<network><name>${name}</name><uuid>${uuid}</uuid><bridge name='${br}'/><ip address='10.1.0.1' netmask='255.255.255.0'><dhcp><range start='10.1.0.2' end='10.1.0.9'/></dhcp></ip></network>`;
export const POOL = (name: string, uuid: string, type = "dir", path = `/pools/${name}`) =>
  `<pool type='${type}'><name>${name}</name><uuid>${uuid}</uuid><target><path>${path}</path></target></pool>`;
