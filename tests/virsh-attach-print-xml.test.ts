// tsvirsh attach-disk / attach-interface / detach-disk / detach-interface against real virsh 9.0:
// every argv recorded by scripts/oracle/virsh-attach-golden.ts (tests/data/virsh-attach/golden.json)
// gives the same stdout, stderr and exit status on test:///default — the device XML --print-xml
// writes, the element detach picks, and the complaints about refused options.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { type Connection, openConnection } from "../src/api/index.js";
import { virshGroups, virshMain } from "../src/cli/virsh/index.js";
import { registerTestDriver } from "../src/drivers/test/index.js";

interface Golden {
  args: string[];
  stdout: string;
  stderr: string;
  status: number;
}

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const golden = JSON.parse(
  readFileSync(new URL("./data/virsh-attach/golden.json", import.meta.url), "utf8"),
) as Golden[];

async function tsvirsh(args: string[]): Promise<Omit<Golden, "args">> {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = new PassThrough();
  stdin.end();
  const status = await virshMain<Connection>({
    argv: ["-c", "test:///default", ...args],
    env: { LC_ALL: "C" },
    stdin,
    stdout,
    stderr,
    isTTY: false,
    groups: virshGroups(),
    open: (uri, readOnly) => openConnection(uri ?? "test:///default", { readOnly }),
    close: (conn) => conn.close(),
  });
  return { stdout: stdout.text, stderr: stderr.text, status };
}

test("attach/detach disk and interface commands match virsh 9.0 on test:///default", async () => {
  registerTestDriver();
  assert.ok(golden.length >= 90, `golden has ${golden.length} cases`);
  const diffs: string[] = [];
  for (const g of golden) {
    const got = await tsvirsh(g.args);
    const want = { stdout: g.stdout, stderr: g.stderr, status: g.status };
    try {
      assert.deepEqual(got, want);
    } catch {
      diffs.push(`virsh ${g.args.join(" ")}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    }
  }
  assert.equal(diffs.length, 0, diffs.join("\n"));
});
