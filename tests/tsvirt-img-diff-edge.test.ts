// Edge inputs found by exploring beyond the random generator (option spellings, usage errors,
// extended L2 zero writes, rebase progress per format, failed snapshots, raw data files): each
// command line runs through real qemu-img and through tsvirt-img on copies of one directory and
// must agree in output, exit code and the files written (tests/tsvirt-img-diff-harness.ts).

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DiffCase, HAVE_QEMU, runDiffCase } from "./tsvirt-img-diff-harness.js";

const CASES: DiffCase[] = [
  {
    name: "boolean options take qapi_bool_parse's spellings (yes/no/true/false/y/n) in create, convert, amend and measure; others are refused",
    setup: "qemu-img create -q -f qcow2 q.qcow2 1M",
    cmds: [
      ["create", "-f", "qcow2", "-o", "lazy_refcounts=y,extended_l2=yes", "a.qcow2", "1M"],
      ["create", "-f", "qcow2", "-o", "extended_l2=n", "b.qcow2", "1M"],
      ["create", "-f", "qcow2", "-o", "lazy_refcounts=ON", "c.qcow2", "1M"],
      ["create", "-f", "qcow2", "-o", "lazy_refcounts=1", "c.qcow2", "1M"],
      ["create", "-f", "vmdk", "-o", "compat6=yes,zeroed_grain=y", "d.vmdk", "1M"],
      ["create", "-f", "vdi", "-o", "static=true", "e.vdi", "1M"],
      ["create", "-f", "raw", "-o", "nocow=no", "f.raw", "1M"],
      ["convert", "-O", "qcow2", "-o", "lazy_refcounts=true", "q.qcow2", "g.qcow2"],
      ["amend", "-o", "lazy_refcounts=yes", "q.qcow2"],
      ["amend", "-o", "data_file_raw=y", "q.qcow2"],
      ["measure", "-O", "qcow2", "-o", "extended_l2=yes", "--size", "1G"],
    ],
  },
  {
    name: "the encryption alias: on means aes, off is dropped, any other value is encrypt.format's (refused); it clashes with encrypt.format unless off",
    setup: "qemu-img create -q -f qcow2 q.qcow2 1M",
    cmds: [
      ["create", "-f", "qcow", "-o", "encryption=no", "a.qcow", "1M"],
      ["create", "-f", "qcow", "-o", "encryption=yes", "a.qcow", "1M"],
      ["create", "-f", "qcow2", "-o", "encryption=y", "b.qcow2", "1M"],
      ["create", "-f", "qcow2", "-o", "encryption=off", "c.qcow2", "1M"],
      ["create", "-f", "qcow2", "-o", "encryption=no,encrypt.format=luks", "d.qcow2", "1M"],
      ["convert", "-c", "-O", "qcow2", "-o", "encryption=yes", "q.qcow2", "e.qcow2"],
    ],
  },
  {
    name: "create -u -b without a backing format: refused before the size is needed; compare -T with a bad cache mode: status 2; raw resize with preallocation=metadata",
    setup: "qemu-img create -q -f raw r.raw 1M && qemu-img create -q -f qcow2 q.qcow2 1M",
    cmds: [
      ["create", "-f", "qcow2", "-u", "-b", "nosuch.img", "a.qcow2"],
      ["create", "-f", "vmdk", "-u", "-b", "nosuch.img", "a.vmdk", "1M"],
      ["create", "-f", "qcow2", "-u", "-b", "nosuch.img", "-F", "raw", "b.qcow2"],
      ["compare", "-T", "bogus", "q.qcow2", "r.raw"],
      ["compare", "-p", "-T", "bogus", "q.qcow2", "r.raw"],
      ["resize", "-f", "raw", "--preallocation=metadata", "r.raw", "2M"],
    ],
  },
  {
    name: "data_file_raw=on preallocates the mapping (metadata), COPIED set also with extended L2",
    setup: "",
    cmds: [
      ["create", "-f", "qcow2", "-o", "data_file=d1.raw,data_file_raw=on", "a.qcow2", "1M"],
      ["create", "-f", "qcow2", "-o", "data_file=d2.raw,data_file_raw=on,extended_l2=on", "b.qcow2", "1M"],
      [
        "create",
        "-f",
        "qcow2",
        "-o",
        "data_file=d3.raw,extended_l2=on,preallocation=metadata",
        "c.qcow2",
        "1M",
      ],
    ],
    bytes: true,
  },
  {
    name: "extended L2 zero writes as qemu's block layer splits them: subcluster zero bits in partial clusters, hosts kept, only touched subclusters written (rebase, convert -B, convert -n)",
    setup: [
      "qemu-img create -q -f raw b.raw 2M && qemu-io -f raw -c 'write -P 7 0 300k' -c 'write -P 8 1000k 5k' b.raw >/dev/null",
      "qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=32k s.qcow2 2M",
      "qemu-io -c 'write -P 1 100k 3k' -c 'write -z 500k 7k' -c 'write -P 0 1001k 1k' s.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 -o extended_l2=on t.qcow2 1M && qemu-io -c 'write -P 1 100k 3k' t.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 -o extended_l2=on -b b.raw -F raw c.qcow2 1M",
      "qemu-io -c 'write -P 3 10k 1k' -c 'write -z 20k 3000' c.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 -o extended_l2=on,preallocation=metadata p.qcow2 5M",
      "qemu-io -c 'write -P 0x11 5169345 73535' p.qcow2 >/dev/null",
    ].join(" && "),
    cmds: [
      ["rebase", "-b", "b.raw", "-F", "raw", "t.qcow2"],
      ["map", "--output=json", "t.qcow2"],
      [
        "convert",
        "-O",
        "qcow2",
        "-o",
        "extended_l2=on,cluster_size=16k",
        "-B",
        "b.raw",
        "-F",
        "raw",
        "s.qcow2",
        "o1",
      ],
      ["map", "--output=json", "o1"],
      ["convert", "-n", "-O", "qcow2", "b.raw", "s.qcow2"],
      ["rebase", "-b", "", "c.qcow2"],
      ["rebase", "-p", "-b", "p.qcow2", "-F", "raw", "p.qcow2"],
      ["map", "--output=json", "p.qcow2"],
    ],
  },
  {
    name: "rebase -p: one progress step per piece the format's block status answers (qcow/vmdk cluster, vdi block)",
    setup: [
      "qemu-img create -q -f raw b.img 1M && qemu-io -f raw -c 'write -P 1 1003520 4096' b.img >/dev/null",
      "qemu-img create -q -f qcow w.qcow 1M",
      "qemu-img create -q -f vmdk v.vmdk 3M && qemu-io -f vmdk -c 'write -P 1 100k 70k' v.vmdk >/dev/null",
      "qemu-img create -q -f vdi d.vdi 3M && qemu-io -f vdi -c 'write -P 1 100k 70k' d.vdi >/dev/null",
    ].join(" && "),
    cmds: [
      ["rebase", "-p", "-b", "b.img", "-F", "raw", "w.qcow"],
      ["rebase", "-p", "-b", "b.img", "-F", "raw", "v.vmdk"],
      ["rebase", "-p", "-b", "b.img", "-F", "raw", "d.vdi"],
    ],
  },
  {
    name: "snapshot -c that overflows a refcount fails with its copy of the L1 table leaked, as qemu's",
    setup: [
      "qemu-img create -q -f qcow2 -o refcount_bits=1 a.qcow2 1M && qemu-io -c 'write 0 100k' a.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 -o cluster_size=128k,extended_l2=on,refcount_bits=1,preallocation=falloc b.qcow2 1000000",
      "qemu-img create -q -f qcow2 -o refcount_bits=2 c.qcow2 1M && qemu-io -c 'write 0 100k' c.qcow2 >/dev/null",
      "qemu-img snapshot -c s1 c.qcow2 && qemu-img snapshot -c s2 c.qcow2",
    ].join(" && "),
    cmds: [
      ["snapshot", "-c", "s", "a.qcow2"],
      ["check", "a.qcow2"],
      ["snapshot", "-c", "s", "b.qcow2"],
      ["snapshot", "-c", "s3", "c.qcow2"],
      ["check", "c.qcow2"],
    ],
  },
  {
    name: "vmdk descriptor files read as qemu's sscanf loop reads them: a blank line before an extent doubles it, RDONLY/ZERO/unknown extents skipped, VMFS with an offset refused, CIDs required (parentCID may come first), createType checked; a bare sparse extent has no CID; probed only from a version= line after comments and blank-with-spaces lines",
    setup: [
      "head -c 1048576 /dev/zero > flat.bin",
      "H='# Disk DescriptorFile\\nversion=1\\nCID=fffffffe\\nparentCID=ffffffff\\n'",
      `printf "$H"'createType="monolithicFlat"\\n\\nRW 2048 FLAT "flat.bin" 0\\n' > blank.vmdk`,
      `printf "$H"'createType="vmfs"\\n\\nRW 2048 VMFS "flat.bin" 0\\n' > vmfs.vmdk`,
      `printf "$H"'createType="monolithicFlat"\\n# x\\nRW 1024 FLAT "flat.bin" 0\\nRDONLY 2048 FLAT "flat.bin" 0\\nRW 100 ZERO\\nRW 0 FLAT "flat.bin" 0\\nRW 2048 BOGUS "flat.bin"\\n' > ro.vmdk`,
      `printf "$H"'createType="monolithicFlat"\\n# x\\nRW 2048 SPARSE "flat.bin" 0\\n' > sp5.vmdk`,
      `printf '# Disk DescriptorFile\\nversion=1\\ncreateType="monolithicFlat"\\n# x\\nRW 2048 FLAT "flat.bin" 0\\n' > nocid.vmdk`,
      `printf 'version=1\\nparentCID=ffffffff\\nCID=12\\ncreateType="twoGbMaxExtentFlat"\\n# x\\nRW 1024 FLAT "flat.bin" 0\\nRW 1024 FLAT "flat.bin" 1024\\n' > pc.vmdk`,
      `printf "$H"'createType="monolithicSparse"\\n# x\\nRW 2048 FLAT "flat.bin" 0\\n' > ms.vmdk`,
      `printf '# c\\n  \\r\\nversion=2\\r\\ncreateType="monolithicFlat"\\nCID=1\\nparentCID=2\\n#\\nRW 2048 FLAT "flat.bin" 0\\n' > probe1.vmdk`,
      `printf '# c\\n\\nversion=1\\ncreateType="monolithicFlat"\\nCID=1\\nparentCID=2\\n#\\nRW 2048 FLAT "flat.bin" 0\\n' > probe2.vmdk`,
      `printf 'version=4\\ncreateType="monolithicFlat"\\nCID=1\\nparentCID=2\\n#\\nRW 2048 FLAT "flat.bin" 0\\n' > probe3.vmdk`,
      "qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse tg.vmdk 2M",
    ].join(" && "),
    cmds: [
      ["info", "blank.vmdk"],
      ["map", "--output=json", "blank.vmdk"],
      ["info", "vmfs.vmdk"],
      ["info", "--output=json", "ro.vmdk"],
      ["info", "sp5.vmdk"],
      ["info", "nocid.vmdk"],
      ["info", "pc.vmdk"],
      ["convert", "-O", "raw", "pc.vmdk", "o.raw"],
      ["info", "ms.vmdk"],
      ["info", "tg-s001.vmdk"],
      ["info", "probe1.vmdk"],
      ["info", "probe2.vmdk"],
      ["info", "probe3.vmdk"],
    ],
  },
  {
    name: "an empty file name, an unknown -f before the file is looked at, a target that is a directory",
    setup: "mkdir d && qemu-img create -q -f raw r.raw 1k",
    cmds: [
      ["info", ""],
      ["info", "-f", "qcow2", ""],
      ["info", "-f", "bogus", ""],
      ["info", "-f", "bogus", "nosuch"],
      ["check", "-f", "bogus", "d"],
      ["convert", "-O", "raw", "r.raw", "d"],
      ["dd", "if=r.raw", "of=d"],
    ],
  },
  {
    name: "damaged qcow and vdi headers and tables as qemu reads them: qcow L1/L2 tables past the end read as zeros (any alignment), an unaligned data cluster or a bad compressed one is EIO; vdi block_extra and blocks_allocated unchecked (check reports the mismatch), link/parent UUIDs refused",
    setup: [
      "qemu-img create -q -f qcow w.qcow 4M && qemu-io -f qcow -c 'write -P 1 0 100k' w.qcow >/dev/null",
      "qemu-img create -q -f vdi d.vdi 4M && qemu-io -f vdi -c 'write -P 1 0 1536k' d.vdi >/dev/null",
      "qemu-img create -q -f raw r.raw 4M && qemu-io -f raw -c 'write -P 9 2M 1M' r.raw >/dev/null",
      // pb FILE OFFSET BYTES (printf escapes)
      'pb() { cp "$1" "$2"; printf "$4" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none; }',
      "pb w.qcow l1past.qcow 40 '\\000\\000\\000\\000\\000\\020\\000\\000'",
      "pb w.qcow l1odd.qcow 40 '\\000\\000\\000\\000\\000\\000\\000\\061'",
      "pb w.qcow l1huge.qcow 48 '\\100\\000\\000\\000\\000\\000\\000\\000'",
      "pb w.qcow dodd.qcow 4096 '\\000\\000\\000\\000\\000\\000\\020\\001'",
      "pb w.qcow dcomp.qcow 4096 '\\200\\000\\000\\000\\000\\020\\000\\000'",
      "pb d.vdi extra.vdi 380 '\\001'",
      "pb d.vdi alloc.vdi 388 '\\144'",
      "pb d.vdi link.vdi 424 '\\001'",
      "pb d.vdi parent.vdi 440 '\\001'",
    ].join(" && "),
    cmds: [
      ["info", "l1past.qcow"],
      ["convert", "-O", "raw", "l1past.qcow", "o1.raw"],
      ["map", "--output=json", "l1odd.qcow"],
      ["compare", "l1odd.qcow", "w.qcow"],
      ["map", "--output=json", "l1huge.qcow"],
      ["convert", "-O", "raw", "dodd.qcow", "o2.raw"],
      ["compare", "dcomp.qcow", "w.qcow"],
      ["info", "extra.vdi"],
      ["convert", "-O", "raw", "extra.vdi", "o3.raw"],
      ["check", "alloc.vdi"],
      ["convert", "-n", "-O", "vdi", "r.raw", "alloc.vdi"],
      ["info", "link.vdi"],
      ["info", "parent.vdi"],
    ],
  },
];

let base = "";
before(async () => {
  if (HAVE_QEMU) base = await mkdtemp(join(tmpdir(), "tsvirt-img-edge-"));
});
after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

CASES.forEach((c, i) => {
  test(c.name, async (t) => {
    if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
    assert.deepEqual(await runDiffCase(base, c, i), []);
  });
});
