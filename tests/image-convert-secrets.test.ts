// convert --object: secrets given on the command line key an encrypted target (LUKS qcow2),
// which qemu-img then reads back identical to the source with the same secret; a missing
// secret and `--object help` answer as qemu-img's convert does (text and exit code).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../dist/bin/tsvirt-img.js", import.meta.url));
const QEMU = spawnSync("sh", ["-c", "command -v qemu-img"]).status === 0;

test("convert --object keys an encrypted target; missing secrets and help as qemu-img", async (t) => {
  if (!QEMU) return t.skip("qemu-img not installed");
  if (!existsSync(CLI)) return t.skip("dist/bin/tsvirt-img.js is not built");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-convsec-"));
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: dir });
    return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString().replace(/^[a-z-]+: /gm, "") };
  };
  const q = (...a: string[]) => run("qemu-img", a);
  const ts = (...a: string[]) => run("node", [CLI, ...a]);
  try {
    const src = Buffer.alloc(3 << 20);
    for (let i = 0; i < src.length; i += 4096) src.fill((i >> 12) & 0xff, i, i + 1000);
    writeFileSync(join(dir, "s.raw"), src);
    const obj = ["--object", "secret,id=s0,data=pass word"];
    const cases: [string, string][] = [
      ["qcow2", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10"],
      ["qcow", "encrypt.format=aes,encrypt.key-secret=s0"],
    ];
    for (const [fmt, o] of cases) {
      // Writing AES qcow data is not implemented here (legacy AES is read-only): only its errors.
      if (fmt === "qcow2") {
        const r = ts("convert", ...obj, "-O", fmt, "-o", o, "s.raw", `t.${fmt}`);
        assert.equal(r.code, 0, r.err);
        const c = q(
          "compare",
          ...obj,
          "--image-opts",
          "driver=raw,file.filename=s.raw",
          `driver=${fmt},encrypt.key-secret=s0,file.filename=t.${fmt}`,
        );
        assert.equal(c.code, 0, `${fmt}: ${c.out}${c.err}`);
      }
      // No --object: the same failure as qemu-img's (text, exit code, file left or not).
      const a = q("convert", "-O", fmt, "-o", o, "s.raw", `qm.${fmt}`);
      const b = ts("convert", "-O", fmt, "-o", o, "s.raw", `tm.${fmt}`);
      assert.equal(b.code, a.code, fmt);
      assert.equal(b.err, a.err.replaceAll(`qm.${fmt}`, `tm.${fmt}`), fmt);
      assert.equal(existsSync(join(dir, `tm.${fmt}`)), existsSync(join(dir, `qm.${fmt}`)), fmt);
    }
    const a = q("convert", "--object", "help", "-O", "qcow2", "s.raw", "h.qcow2");
    const b = ts("convert", "--object", "help", "-O", "qcow2", "s.raw", "h.qcow2");
    assert.equal(b.code, a.code);
    assert.equal(b.out, a.out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
