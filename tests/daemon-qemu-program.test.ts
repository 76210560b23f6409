// libvirt-qemu's program (0x20008087) and libvirt-lxc's (0x00068000) through tsvirtd on
// test:///default: real virsh gets the same answers as in-process virsh (libvirt's test driver has
// none of these calls). Their procedures number from 1 again: none may reach a remote-program
// fallback of the same number.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { startTsvirtd, type TsvirtdProcess, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";
import { haveVirsh } from "./guest/root-daemon.js";

const CASES = [
  ["qemu-agent-command", "test", '{"execute":"guest-ping"}'],
  ["qemu-monitor-command", "test", '{"execute":"query-status"}'],
  ["qemu-monitor-command", "test", "--hmp", "info status"],
  ["qemu-attach", "1234"],
  // libvirt-lxc's program (one procedure) too
  ["lxc-enter-namespace", "test", "/bin/true"],
];

let ts: TsvirtdProcess | undefined;
after(async () => {
  await ts?.dispose();
});

test("libvirt-qemu calls on test:///default: the same through tsvirtd as in-process", {
  skip: !haveVirsh() ? "virsh not installed" : (tsvirtdUnavailable() ?? false),
}, async () => {
  ts = await startTsvirtd();
  const run = (uri: string, args: string[]) => {
    const r = spawnSync("virsh", ["-c", uri, ...args], {
      encoding: "utf8",
      env: { ...process.env, LC_ALL: "C" },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  for (const c of CASES) {
    const want = run("test:///default", c);
    assert.notEqual(want.status, 0, "libvirt's test driver has no such call");
    assert.deepEqual(run(ts.uri("test"), c), want, c.join(" "));
  }
});
