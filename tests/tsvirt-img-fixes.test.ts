// tsvirt-img behaviours checked against qemu-img 7.2 run here: create -u never opens the backing
// file, qcow2 amend refuses backing changes, a failed create treats an existing file as qemu,
// backing names joined as path_combine, printf-style rounding in check, compressed convert
// through the thread-pool deflate API.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { printf2 } from "../src/cli/img/cmd-check.js";
import { main } from "../src/cli/img/main.js";
import { Qcow2Image } from "../src/image/formats/qcow2/index.js";
import { openImage } from "../src/image/index.js";

const HAVE_QEMU = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img"].some((p) => existsSync(p));
let dir = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvirt-img-fixes-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs tsvirt-img in-process; stdout/stderr captured. */
async function tsvirt(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

function qemu(...argv: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("qemu-img", argv, { encoding: "utf8" });
  return { code: r.status ?? 255, out: r.stdout, err: r.stderr.replace(/^qemu-img: /gm, "tsvirt-img: ") };
}

test("printf2 rounds exact ties to even as C's %.2f, everything else as toFixed", () => {
  assert.equal(printf2(15.625), "15.62");
  assert.equal(printf2(0.125), "0.12");
  assert.equal(printf2(0.375), "0.38");
  assert.equal(printf2(2.675), "2.67"); // the double is below the tie
  assert.equal(printf2(33.3333333), "33.33");
  assert.equal(printf2(100), "100.00");
  assert.equal(printf2(0), "0.00");
  if (HAVE_QEMU) {
    for (const x of [15.625, 0.125, 0.375, 0.625, 0.875, 1.005, 62.5, 99.995]) {
      assert.equal(printf2(x), execFileSync("printf", ["%.2f", String(x)], { encoding: "utf8" }), String(x));
    }
  }
});

test("create -u records a missing backing file without opening it (qcow2, qcow)", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  for (const fmt of ["qcow2", "qcow"]) {
    const tp = join(dir, `u-t.${fmt}`);
    const qp = join(dir, `u-q.${fmt}`);
    const args = (p: string) => [
      "create",
      "-q",
      "-f",
      fmt,
      "-u",
      "-b",
      "nonexistent.img",
      "-F",
      "raw",
      p,
      "1M",
    ];
    const tr = await tsvirt(...args(tp));
    const qr = qemu(...args(qp));
    assert.equal(tr.code, qr.code, `${fmt}: ${tr.err}`);
    assert.equal(tr.err, qr.err);
    const ti = qemu("info", "-U", "--output=json", tp).out;
    assert.match(ti, /"backing-filename": "nonexistent.img"/);
    assert.equal(
      ti.replace(/"(filename|actual-size|full-backing-filename)": [^,\n]*/g, ""),
      qemu("info", "-U", "--output=json", qp).out.replace(
        /"(filename|actual-size|full-backing-filename)": [^,\n]*/g,
        "",
      ),
    );
  }
});

test("qcow2 amend refuses a backing file change with qemu 7.2's message", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const base = join(dir, "am-base.qcow2");
  qemu("create", "-q", "-f", "qcow2", base, "1M");
  for (const tool of ["q", "t"] as const) {
    const child = join(dir, `am-${tool}.qcow2`);
    qemu("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", child);
    for (const o of [
      "backing_file=other.qcow2",
      `backing_file=${base}`,
      "backing_fmt=raw",
      "compat=0.10,backing_file=x",
    ]) {
      const r = tool === "q" ? qemu("amend", "-o", o, child) : await tsvirt("amend", "-o", o, child);
      assert.equal(r.code, 1, o);
      assert.equal(
        r.err,
        "tsvirt-img: Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.\n",
        o,
      );
    }
    // The same file and format is no change: accepted.
    const same = `backing_file=${base},backing_fmt=qcow2`;
    const r = tool === "q" ? qemu("amend", "-o", same, child) : await tsvirt("amend", "-o", same, child);
    assert.equal(r.code, 0, r.err);
    assert.match(qemu("info", child).out, /compat: 1\.1/);
  }
});

test("a failed create keeps or deletes an existing file exactly as qemu-img does", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const cases: string[][] = [
    ["-f", "qcow2", "-o", "cluster_size=1000"], // qcow2 refuses after creating: file deleted
    ["-f", "qcow2", "-o", "refcount_bits=3"],
    ["-f", "qcow2", "-o", "nosuchopt=1"], // option names are checked first: file intact
    ["-f", "qcow2", "-b", "nonexistent", "-F", "qcow2"],
    ["-f", "vdi", "-o", "nosuchopt=1"],
  ];
  for (const [i, opts] of cases.entries()) {
    const states: string[] = [];
    for (const tool of ["q", "t"] as const) {
      const p = join(dir, `keep-${i}-${tool}.img`);
      writeFileSync(p, "keep me\n");
      const args = ["create", "-q", ...opts, p, ...(opts.includes("-b") ? [] : ["1M"])];
      const r = tool === "q" ? qemu(...args) : await tsvirt(...args);
      assert.equal(r.code, 1, `${opts.join(" ")}: ${tool}`);
      states.push(existsSync(p) ? readFileSync(p, "utf8") : "<deleted>");
    }
    assert.equal(states[1], states[0], opts.join(" "));
  }
});

test("backing names are joined as text (path_combine), as qemu-img shows them", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  mkdirSync(join(dir, "sub"), { recursive: true });
  const child = join(dir, "sub", "pc.qcow2");
  qemu("create", "-q", "-f", "qcow2", "-u", "-b", "../missing.qcow2", "-F", "qcow2", child, "1M");
  const q = qemu("map", child);
  const r = await tsvirt("map", child);
  assert.equal(r.code, q.code);
  assert.match(q.err, /sub\/\.\.\/missing\.qcow2/);
  assert.equal(r.err, q.err);
});

test("qcow2 offers the thread-pool compression API; convert -c output reads back and matches qemu's size", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const src = join(dir, "c-src.raw");
  const b = Buffer.alloc(3 << 20);
  const words = "the quick brown fox jumps over the lazy dog ";
  for (let i = 0; i < 2 << 20; i++) b[i] = words.charCodeAt(i % words.length);
  let x = 7;
  for (let i = 2 << 20; i < 5 << 19; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  writeFileSync(src, b);
  const probe = join(dir, "c-probe.qcow2");
  qemu("create", "-q", "-f", "qcow2", probe, "1M");
  const img = await openImage(probe, { readOnly: false });
  assert.ok(img instanceof Qcow2Image);
  assert.equal(img.compressedClusterSize, 65536);
  const packed = await img.compressCluster(b.subarray(0, 65536));
  assert.ok(packed && packed.length < 4096);
  await img.writeCompressedCluster(0, packed, b.subarray(0, 65536));
  await img.close();
  assert.match(qemu("check", probe).out, /No errors/);
  assert.match(qemu("check", probe).out, /100\.00% compressed clusters/);

  const tq = join(dir, "c-t.qcow2");
  const qq = join(dir, "c-q.qcow2");
  const r = await tsvirt("convert", "-c", "-O", "qcow2", src, tq);
  assert.equal(r.code, 0, r.err);
  qemu("convert", "-c", "-O", "qcow2", src, qq);
  assert.equal(qemu("compare", src, tq).code, 0);
  assert.match(qemu("check", tq).out, /No errors/);
  // Same deflate settings as qemu (raw, 4 KiB window, memLevel 9): the same packed layout.
  assert.equal(qemu("check", tq).out, qemu("check", qq).out);
  assert.ok(statSync(tq).size < 1 << 20);
});

/** Runs a shell script of qemu-img/qemu-io steps in `cwd`. */
function sh(cwd: string, script: string): void {
  execFileSync("bash", ["-e", "-c", script], { cwd, stdio: "ignore" });
}

/** tsvirt-img in-process with `cwd` as the working directory. */
async function tsvirtIn(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    return await tsvirt(...argv);
  } finally {
    process.chdir(prev);
  }
}

test("compare -s walks block status as qemu's loop: chains, EOF, per-format runs, content first", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const d = join(dir, "cmp-strict");
  mkdirSync(join(d, "sub"), { recursive: true });
  sh(
    d,
    `qemu-img create -q -f vmdk base.vmdk 5M
    qemu-io -f vmdk -c 'write -P 0x00 1114112 512' base.vmdk
    qemu-img create -q -f qcow2 -b ../base.vmdk -F vmdk sub/child.img
    qemu-img create -q -f qcow2 -b base.vmdk -F vmdk c2.qcow2
    qemu-io -f qcow2 -c 'write -P 3 0 4096' -c 'write -z 2M 64k' c2.qcow2
    qemu-img create -q -f raw r.raw 5M
    qemu-io -f raw -c 'write -P 3 0 4096' r.raw
    qemu-img create -q -f vdi v.vdi 5M
    qemu-io -f vdi -c 'write -P 3 0 4096' v.vdi
    qemu-img create -q -f vdi -o static=on vs.vdi 5M
    qemu-io -f vdi -c 'write -P 3 0 4096' vs.vdi
    qemu-img create -q -f qcow q.qcow 5M
    qemu-io -f qcow -c 'write -P 3 0 4096' q.qcow
    qemu-img create -q -f qcow2 -o cluster_size=4k c4.qcow2 5M
    qemu-io -f qcow2 -c 'write -P 3 0 4096' c4.qcow2
    qemu-img create -q -f vmdk -o subformat=monolithicFlat f.vmdk 5M
    qemu-img create -q -f qcow2 -o preallocation=metadata pm.qcow2 5M
    qemu-io -f qcow2 -c 'write -P 3 0 4096' pm.qcow2
    qemu-img create -q -f raw small.raw 3M
    qemu-io -f raw -c 'write -P 3 0 4096' small.raw
    qemu-img create -q -f qcow2 -b small.raw -F raw grow.qcow2 5M
    qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse tg.vmdk 5M
    qemu-io -f vmdk -c 'write -P 3 0 4096' tg.vmdk
    qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k e.qcow2 5M
    qemu-io -f qcow2 -c 'write -P 3 0 4096' -c 'write -z 1M 8k' e.qcow2
    qemu-img create -q -f qcow2 -b e.qcow2 -F qcow2 ec.qcow2
    qemu-io -f qcow2 -c 'write -P 4 4096 4096' ec.qcow2`,
  );
  const names = ["base.vmdk", "sub/child.img", "c2.qcow2", "r.raw", "v.vdi", "vs.vdi", "q.qcow", "c4.qcow2"];
  names.push("f.vmdk", "pm.qcow2", "grow.qcow2", "tg.vmdk", "e.qcow2", "ec.qcow2");
  const differ: string[] = [];
  for (const x of names) {
    for (const y of names) {
      const q = spawnSync("qemu-img", ["compare", "-s", x, y], { cwd: d, encoding: "utf8" });
      const r = await tsvirtIn(d, "compare", "-s", x, y);
      if (r.code !== q.status || r.out !== q.stdout) differ.push(`${x} ${y}: ${q.stdout} / ${r.out}`);
    }
  }
  assert.deepEqual(differ, []);
});

test("safe rebase of an image without a backing file copies as qemu's (old content zeros), also where the backing file cannot change", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const d = join(dir, "rebase-nobacking");
  mkdirSync(d, { recursive: true });
  sh(
    d,
    `qemu-img create -q -f qcow2 -o cluster_size=2M,extended_l2=on nb.qcow2 2M
    qemu-io -f qcow2 -c 'write -P 0xa3 1814528 70000' -c 'write -P 0x5a 1389050 70000' nb.qcow2`,
  );
  for (const [fmt, opts] of [
    ["vmdk", ""],
    ["qcow2", "compat=0.10"],
    ["qcow", ""],
    ["vdi", ""],
  ] as const) {
    const o = opts ? `-o ${opts}` : "";
    sh(
      d,
      `qemu-img create -q -f ${fmt} ${o} q.${fmt} 2M; qemu-io -f ${fmt} -c 'write -P 0x11 1968640 128512' q.${fmt}`,
    );
    sh(d, `cp q.${fmt} t.${fmt}`);
    const q = qemu("rebase", "-f", fmt, "-b", "nb.qcow2", "-F", "qcow2", join(d, `q.${fmt}`));
    const r = await tsvirtIn(d, "rebase", "-f", fmt, "-b", "nb.qcow2", "-F", "qcow2", `t.${fmt}`);
    assert.equal(r.code, q.code, fmt);
    assert.equal(r.err.replace(/t\./g, "q."), q.err.replace(join(d, ""), "").replace(`${d}/`, ""), fmt);
    const cmp = spawnSync("qemu-img", ["compare", "-f", fmt, "-F", fmt, `q.${fmt}`, `t.${fmt}`], { cwd: d });
    assert.equal(cmp.status, 0, `${fmt}: ${cmp.stdout}`);
    const map = (f: string) =>
      spawnSync("qemu-img", ["map", "-f", fmt, "--output=json", f], { cwd: d, encoding: "utf8" }).stdout;
    assert.equal(map(`t.${fmt}`), map(`q.${fmt}`), fmt);
  }
});

test("--object: secrets and qemu's messages for bad objects, help, in every command; create uses the secrets (LUKS qcow2, AES qcow)", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const d = join(dir, "objects");
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "pw.txt"), "pass");
  const objs = [
    "foo,id=x",
    "secret",
    "secret,id=sec0",
    "secret,id=s,data=a,format=bogus",
    "secret,id=s,file=pw.txt",
    "secret,id=s,file=nonexist",
    "secret,id=s,data=a,file=pw.txt",
    "secret,id=s,data=a,b",
    "secret,id=s,data=a,bogus=1",
    "id=x,data=y",
    "secret,id=0bad,data=abc",
    "secret,id=s,data=a,keyid=k2",
    "",
    "help",
    "secret,help",
    "foo,help",
    "iothread,id=x",
    "throttle-group,id=t",
    "memory-backend-ram,id=m",
  ];
  const differ: string[] = [];
  const check = async (args: string[]) => {
    const q = spawnSync("qemu-img", args, { cwd: d, encoding: "utf8" });
    const r = await tsvirtIn(d, ...args);
    const qe = q.stderr.replace(/qemu-img: /g, "tsvirt-img: ");
    if (r.code !== q.status || r.out !== q.stdout || r.err !== qe)
      differ.push(`${args.join(" ")}: ${q.status} ${q.stdout}${qe} / ${r.code} ${r.out}${r.err}`);
  };
  for (const o of objs) await check(["create", "--object", o, "-f", "raw", "z.raw", "1k"]);
  await check([
    "create",
    "--object",
    "secret,id=s,data=a",
    "--object",
    "secret,id=s,data=b",
    "-f",
    "raw",
    "z.raw",
    "1k",
  ]);
  for (const cmd of [
    ["compare", "a", "b"],
    ["map", "a"],
    ["resize", "a", "1M"],
    ["snapshot", "-l", "a"],
    ["measure", "--size", "1M"],
  ])
    for (const o of ["foo", "secret,id=s", "secret,help"])
      await check([cmd[0]!, "--object", o, ...cmd.slice(1)]);
  assert.deepEqual(differ, []);
  // Images made with a secret: AES qcow byte-identical, LUKS qcow2 equal but for its random parts.
  const mk = async (tool: "q" | "t", name: string, fmt: string, o: string) => {
    const args = [
      "create",
      "-q",
      "--object",
      "secret,id=sec0,data=abc",
      "-f",
      fmt,
      "-o",
      o,
      `${tool}-${name}`,
      "1M",
    ];
    if (tool === "q") {
      // qemu's PBKDF benchmark fails now and then on a loaded machine: try again.
      let r = spawnSync("qemu-img", args, { cwd: d, encoding: "utf8" });
      for (let k = 0; k < 5 && /Unable to get accurate CPU usage/.test(r.stderr); k++)
        r = spawnSync("qemu-img", args, { cwd: d, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    } else {
      const r = await tsvirtIn(d, ...args);
      assert.equal(r.code, 0, r.err);
    }
  };
  for (const tool of ["q", "t"] as const) {
    await mk(tool, "aes.qcow", "qcow", "encryption=on,encrypt.key-secret=sec0");
    await mk(
      tool,
      "luks.qcow2",
      "qcow2",
      "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=100",
    );
  }
  assert.deepEqual(readFileSync(join(d, "t-aes.qcow")), readFileSync(join(d, "q-aes.qcow")));
  const info = (f: string) =>
    spawnSync("qemu-img", ["info", "--output=json", f], { cwd: d, encoding: "utf8" }).stdout.replace(
      /"(filename|uuid|iters|master-key-iters|actual-size)": [^\n]*\n/g,
      "",
    );
  assert.equal(info("t-luks.qcow2"), info("q-luks.qcow2"));
  const key = ["--object", "secret,id=sec0,data=abc", "--image-opts"];
  const chk = spawnSync(
    "qemu-img",
    ["check", ...key, "driver=qcow2,file.filename=t-luks.qcow2,encrypt.key-secret=sec0"],
    {
      cwd: d,
    },
  );
  assert.equal(chk.status, 0);
});
