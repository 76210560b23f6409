// Sparse streams through tsvirtd (virnetprotocol.x VIR_NET_STREAM_HOLE): a volume with holes
// downloaded with --sparse by real virsh and by tsvirsh arrives byte for byte and with its holes
// unallocated in both outputs; without --sparse both get the same bytes, holes written as zeros.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startTsvirtd, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";
import { nativeIO } from "../src/image/io/native.js";

const TSVIRSH = resolve(fileURLToPath(new URL("../dist/bin/tsvirsh.js", import.meta.url)));
const MiB = 1 << 20;

function run(cmd: string, args: string[]): Promise<[number, string]> {
  return new Promise((done) => {
    execFile(cmd, args, { env: { ...process.env, LC_ALL: "C" } }, (e, so, se) =>
      done([e ? ((e as { code?: number }).code ?? 1) : 0, so + se]),
    );
  });
}

test("sparse vol-download through tsvirtd: virsh and tsvirsh get the bytes and keep the holes", async (t) => {
  const why = tsvirtdUnavailable();
  if (why) return t.skip(why);
  const d = await startTsvirtd({ args: ["--http", "off"] });
  const work = mkdtempSync(join(tmpdir(), "tsvirt-sparse-"));
  try {
    const uri = d.uri("qemu");
    const pool = join(work, "pool");
    for (const args of [
      ["pool-create-as", "sp", "dir", "--target", pool, "--build"],
      ["vol-create-as", "sp", "v.img", "4M", "--allocation", "0"],
    ]) {
      const [code, out] = await run("virsh", ["-c", uri, ...args]);
      assert.equal(code, 0, out);
    }
    // data at 1 MiB and at the last 4 KiB, holes before, between and nowhere else
    const fd = openSync(join(pool, "v.img"), "r+");
    writeSync(fd, Buffer.alloc(64 * 1024, 0xa5), 0, 64 * 1024, MiB);
    writeSync(fd, Buffer.alloc(4096, 0x3c), 0, 4096, 4 * MiB - 4096);
    closeSync(fd);
    const vol = readFileSync(join(pool, "v.img"));
    for (const [who, bin, pre] of [
      ["virsh", "virsh", []],
      ["tsvirsh", process.execPath, [TSVIRSH]],
    ] as const) {
      for (const sparse of [true, false]) {
        const out = join(work, `${who}-${sparse}.bin`);
        const args = ["-c", uri, "vol-download", "--pool", "sp", "v.img", out, ...(sparse ? ["--sparse"] : [])];
        const [code, text] = await run(bin, [...pre, ...args]);
        assert.equal(code, 0, `${who}: ${text}`);
        assert.ok(readFileSync(out).equals(vol), `${who} sparse=${sparse}: the volume's bytes`);
        const allocated = statSync(out).blocks * 512;
        // the daemon finds holes with SEEK_HOLE through the native addon (built by the bootstrap);
        // without it every byte is data, which is still correct
        if (sparse && nativeIO())
          assert.ok(allocated <= 256 * 1024, `${who}: holes kept (${allocated} bytes allocated)`);
        else assert.ok(allocated >= 4 * MiB, `${who}: without --sparse every byte is written`);
      }
    }
  } finally {
    await d.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});
