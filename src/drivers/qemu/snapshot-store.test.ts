// Snapshot metadata files of the QEMU driver: what is written is libvirt's format (validated by
// libvirt's own domainsnapshot.rng where xmllint is installed), the store's <active> marks the
// current snapshot only in the files, and loading the files gives back the same tree and XML.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseDomainXML } from "../../conf/domain/index.js";
import type { QemuDomain } from "./domain-obj.js";
import { newQemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import {
  formatQemuSnapshot,
  loadSnapshots,
  type QemuSnapshot,
  snapshotsOf,
  writeSnapshotMetadata,
} from "./snapshot-store.js";

const DOM = (mem: number) => `<domain type='qemu'>
  <name>st1</name>
  <uuid>0b7e4c1a-8d7e-4f7c-9a8e-3c2b1a0f9e11</uuid>
  <memory unit='KiB'>${mem}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/st1.qcow2'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>`;

function snapshot(name: string, state: QemuSnapshot["state"], parent?: string): QemuSnapshot {
  const s: QemuSnapshot = {
    name,
    description: `about <${name}> & more`,
    state,
    parent,
    creationTime: 1700000000,
    memory: { snapshot: state === "running" ? "internal" : "no" },
    disks: [{ name: "vda", snapshot: "internal" }],
    dom: parseDomainXML(DOM(131072), { noIfnames: true }),
  };
  if (state === "running") s.inactiveDom = parseDomainXML(DOM(262144), { noIfnames: true });
  return s;
}

function fakeState(libDir: string): QemuDriverState {
  return { opts: { libDir } } as unknown as QemuDriverState;
}

test("metadata files: libvirt's format, <active> on the current one, loaded back identical", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-snapstore-"));
  try {
    const st = fakeState(dir);
    const d: QemuDomain = newQemuDomain(parseDomainXML(DOM(131072), { noIfnames: true }));
    const tree = snapshotsOf(d);
    const off = snapshot("off", "shutoff");
    const on = snapshot("on", "running", "off");
    tree.add(off);
    tree.add(on);
    tree.current = "on";
    await writeSnapshotMetadata(st, d, off);
    await writeSnapshotMetadata(st, d, on);
    const file = (n: string) => readFileSync(join(dir, "qemu", "snapshot", "st1", `${n}.xml`), "utf8");
    assert.match(file("off"), /<active>0<\/active>\n<\/domainsnapshot>\n$/);
    assert.match(
      file("on"),
      /<\/domain>\n {2}<inactiveDomain type='qemu'>\n[\s\S]*<\/inactiveDomain>\n {2}<active>1<\/active>\n/,
    );
    assert.match(
      file("on"),
      /<inactiveDomain[\s\S]*<memory unit='KiB'>262144<\/memory>[\s\S]*<\/inactiveDomain>/,
    );
    const api = formatQemuSnapshot(on, { secure: false });
    assert.doesNotMatch(api, /<active>/);
    assert.match(api, /<description>about &lt;on&gt; &amp; more<\/description>/);

    // libvirt's schema accepts both the API's XML and the stored files
    const rng = "/usr/share/libvirt/schemas/domainsnapshot.rng";
    let haveXmllint = true;
    try {
      execFileSync("xmllint", ["--version"], { stdio: "ignore" });
    } catch {
      haveXmllint = false;
    }
    if (haveXmllint && existsSync(rng)) {
      const p = join(dir, "api.xml");
      writeFileSync(p, api);
      execFileSync("xmllint", ["--noout", "--relaxng", rng, p], { stdio: "pipe" });
    }

    // a restarted daemon: a fresh domain object loads the same tree, current and XML
    const again: QemuDomain = newQemuDomain(parseDomainXML(DOM(131072), { noIfnames: true }));
    assert.deepEqual(await loadSnapshots(st, again), []);
    const t2 = snapshotsOf(again);
    assert.equal(t2.current, "on");
    assert.equal(t2.get("on")?.parent, "off");
    for (const n of ["off", "on"]) {
      assert.equal(
        formatQemuSnapshot(t2.get(n)!, { secure: true }),
        formatQemuSnapshot(tree.get(n)!, { secure: true }),
      );
    }

    // a file that does not parse is reported and skipped; its children become roots
    writeFileSync(join(dir, "qemu", "snapshot", "st1", "off.xml"), "<domainsnapshot><name>off");
    const third: QemuDomain = newQemuDomain(parseDomainXML(DOM(131072), { noIfnames: true }));
    const problems = await loadSnapshots(st, third);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^st1\/off\.xml: /);
    assert.deepEqual(
      snapshotsOf(third)
        .all()
        .map((s) => [s.name, s.parent]),
      [["on", undefined]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
