// `tsvirsh list | head`: when the reader of the output goes away, real virsh is killed by SIGPIPE
// without a word (a shell shows status 141); tsvirsh (Node ignores SIGPIPE and reports EPIPE)
// must end as quietly, with exit status 141, not with a stack trace.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";

const TSVIRSH = join(resolve(import.meta.dirname, ".."), "dist/bin/tsvirsh.js");

function readerGone(
  cmd: string,
  argv: string[],
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((done, fail) => {
    const c = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    c.stdout.destroy();
    let stderr = "";
    c.stderr.on("data", (d) => (stderr += d));
    c.on("error", fail);
    c.on("close", (code, signal) => done({ code, signal, stderr }));
  });
}

test("output into a pipe whose reader is gone: quiet, status 128 + SIGPIPE, as virsh", async (t) => {
  if (!existsSync(TSVIRSH)) return t.skip("dist is not built");
  const args = ["-c", "test:///default", "list", "--all"];
  if (spawnSync("sh", ["-c", "command -v virsh"]).status === 0) {
    assert.deepEqual(await readerGone("virsh", args), { code: null, signal: "SIGPIPE", stderr: "" });
  }
  assert.deepEqual(await readerGone(process.execPath, [TSVIRSH, ...args]), {
    code: 141,
    signal: null,
    stderr: "",
  });
});
