// tsvirsh commands that the scripted differential session cannot cover: waiting for events
// (another client causes them) and editing through $EDITOR, checked against real virsh's texts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { test } from "node:test";
import { type Connection, openConnection } from "../src/api/index.js";
import { VirshControl, virshGroups } from "../src/cli/virsh/index.js";
import { registerTestDriver } from "../src/drivers/test/index.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
  take(): string {
    const t = this.text;
    this.text = "";
    return t;
  }
}

async function session() {
  registerTestDriver();
  const out = new Capture();
  const err = new Capture();
  const ctl = new VirshControl<Connection>({
    out,
    err,
    groups: virshGroups(),
    open: (uri, readOnly) => openConnection(uri ?? "test:///default", { readOnly }),
    close: (c) => c.close(),
  });
  assert.ok(await ctl.connect("test:///default", false));
  return { ctl, out, err };
}

test("event prints lifecycle events caused meanwhile and counts them", async () => {
  const { ctl, out } = await session();
  const other = ctl.conn as Connection;
  const waiting = ctl.runString("event --event lifecycle --loop --timeout 1");
  setTimeout(async () => {
    const d = await other.domainLookupByName("test");
    await d.suspend();
    await d.resume();
  }, 50);
  assert.equal(await waiting, true);
  assert.equal(
    out.take(),
    "event 'lifecycle' for domain 'test': Suspended Paused\n" +
      "event 'lifecycle' for domain 'test': Resumed Unpaused\n" +
      "event loop timed out\nevents received: 2\n\n",
  );
  await ctl.disconnect();
});

test("event without events times out as virsh does (exit status 1)", async () => {
  const { ctl, out, err } = await session();
  assert.equal(await ctl.runString("event --all --timeout 1"), false);
  assert.equal(out.take(), "event loop timed out\nevents received: 0\n\n");
  assert.equal(await ctl.runString("event"), false);
  assert.equal(err.take(), "error: one of --list, --all, or --event <type> is required\n");
  await ctl.disconnect();
});

test("edit runs $EDITOR on the inactive XML and redefines, as virsh", async (t) => {
  const editor = "sed -i s/8388608/4194304/";
  const prev = process.env.EDITOR;
  process.env.EDITOR = editor;
  try {
    const { ctl, out } = await session();
    assert.equal(await ctl.runString("edit test; dumpxml test --inactive"), true);
    const got = out.take();
    assert.match(got, /^Domain 'test' XML configuration edited\.\n\n/);
    assert.match(got, /<memory unit='KiB'>4194304<\/memory>/);
    process.env.EDITOR = "true";
    assert.equal(await ctl.runString("edit test"), true);
    assert.equal(out.take(), "Domain 'test' XML configuration not changed.\n\n");
    await ctl.disconnect();
    if (spawnSync("virsh", ["--version"]).status !== 0) return t.skip("real virsh is not installed");
    const real = spawnSync("virsh", ["-c", "test:///default", "edit test; dumpxml test --inactive"], {
      env: { ...process.env, EDITOR: editor },
      encoding: "utf8",
    });
    assert.equal(got, real.stdout);
  } finally {
    process.env.EDITOR = prev;
  }
});
