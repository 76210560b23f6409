// tsvirt-img building blocks: qemu's QDict key order, size parsing/printing, getopt behaviour,
// and qemu's qcow2 measure formulas, each against values observed from qemu-img 7.2.

import assert from "node:assert/strict";
import { test } from "node:test";
import { qcow2PreallocSize } from "../src/cli/img/cmd-measure.js";
import { getopt, UsageError } from "../src/cli/img/getopt.js";
import { main } from "../src/cli/img/main.js";
import { dumpHuman, qdictOrder, toQemuJson } from "../src/cli/img/qdict.js";
import { parseSize, sizeToStr } from "../src/cli/img/units.js";

test("QDict order reproduces qemu-img's --output=json key order", () => {
  // Orders observed in `qemu-img info --output=json` of a vmdk with a backing file.
  assert.deepEqual(
    qdictOrder([
      "virtual-size",
      "filename",
      "cluster-size",
      "format",
      "actual-size",
      "format-specific",
      "backing-filename-format",
      "full-backing-filename",
      "backing-filename",
      "dirty-flag",
    ]),
    [
      "backing-filename-format",
      "virtual-size",
      "filename",
      "cluster-size",
      "format",
      "actual-size",
      "format-specific",
      "full-backing-filename",
      "backing-filename",
      "dirty-flag",
    ],
  );
  assert.deepEqual(qdictOrder(["extents", "create-type", "parent-cid", "cid"]), [
    "cid",
    "parent-cid",
    "create-type",
    "extents",
  ]);
  assert.deepEqual(
    qdictOrder(["extended-l2", "corrupt", "refcount-bits", "lazy-refcounts", "compression-type", "compat"]),
    ["compat", "compression-type", "lazy-refcounts", "refcount-bits", "corrupt", "extended-l2"],
  );
  assert.equal(
    toQemuJson({ a: [{ x: "y" }] }),
    '{\n    "a": [\n        {\n            "x": "y"\n        }\n    ]\n}',
  );
  assert.equal(toQemuJson({ n: 5, s: undefined }), '{\n    "n": 5\n}');
  const out: string[] = [];
  dumpHuman({ "create-type": "x", extents: [{ "virtual-size": 1 }] }, 1, out);
  assert.deepEqual(out, [
    "    create type: x",
    "    extents:",
    "        [0]:",
    "            virtual size: 1",
  ]);
});

test("sizes parse and print like qemu-img", () => {
  assert.equal(parseSize("1.5M"), 1572864n);
  assert.equal(parseSize("64k"), 65536n);
  assert.equal(parseSize("2G"), 2n ** 31n);
  assert.equal(parseSize("1Q"), undefined);
  assert.equal(parseSize("1.5"), undefined);
  const seen: [number, string][] = [
    [0, "0 B"],
    [4096, "4 KiB"],
    [1000, "0.977 KiB"],
    [10485760, "10 MiB"],
    [14709248, "14 MiB"],
    [1572864, "1.5 MiB"],
    [5368709120, "5 GiB"],
  ];
  for (const [n, s] of seen) assert.equal(sizeToStr(n), s);
});

test("getopt permutes arguments and reports bad options in qemu-img's words", () => {
  const p = getopt(["a.img", "-f", "raw", "--output=json", "-U"], "f:U", [
    { name: "output", arg: "required" },
  ]);
  assert.deepEqual(p.args, ["a.img"]);
  assert.deepEqual(p.opts, [
    ["f", "raw"],
    ["output", "json"],
    ["U", ""],
  ]);
  assert.throws(
    () => getopt(["-z"], "f:"),
    (e: unknown) => e instanceof UsageError && e.message === "unrecognized option '-z'",
  );
  assert.throws(() => getopt(["-f"], "f:"), /missing argument for option '-f'/);
  assert.throws(() => getopt(["--nope"], "f:"), /unrecognized option '--nope'/);
});

test("qcow2 measure formula matches qemu-img measure", () => {
  // qemu-img measure -O qcow2 --size 10G / 1G; -o cluster_size=4k --size 3G.
  assert.equal(qcow2PreallocSize(10 * 2 ** 30, 65536, 4, false), 10739318784);
  assert.equal(qcow2PreallocSize(2 ** 30, 65536, 4, false), 1074135040);
  assert.equal(qcow2PreallocSize(3 * 2 ** 30, 4096, 4, false), 3229114368);
});

test("main() prints usage errors and exit codes", async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
  assert.equal(await main(["bogus"], io), 1);
  assert.equal(
    err.join(""),
    "tsvirt-img: Command not found: bogus\nTry 'tsvirt-img --help' for more information\n",
  );
  assert.equal(await main(["--version"], io), 0);
  assert.match(out.join(""), /tsvirt-img version/);
});
