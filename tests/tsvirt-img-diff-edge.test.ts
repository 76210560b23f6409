// Edge inputs found by exploring beyond the random generator (option spellings, usage errors,
// extended L2 zero writes, rebase progress per format, failed snapshots, raw data files): each
// command line runs through real qemu-img and through tsvirt-img on copies of one directory and
// must agree in output, exit code and the files written (tests/tsvirt-img-diff-harness.ts).

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DiffCase, HAVE_QEMU, run, runDiffCase, tsvirt } from "./tsvirt-img-diff-harness.js";

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
    name: "create -u -b without a backing format: refused before the size is needed; compare -T with a bad cache mode: status 2; raw resize with preallocation=metadata; check -T and -U with -r; create parses the size before refusing extra arguments",
    setup: "qemu-img create -q -f raw r.raw 1M && qemu-img create -q -f qcow2 q.qcow2 1M",
    cmds: [
      ["create", "-f", "qcow2", "-u", "-b", "nosuch.img", "a.qcow2"],
      ["create", "-f", "vmdk", "-u", "-b", "nosuch.img", "a.vmdk", "1M"],
      ["create", "-f", "qcow2", "-u", "-b", "nosuch.img", "-F", "raw", "b.qcow2"],
      ["compare", "-T", "bogus", "q.qcow2", "r.raw"],
      ["compare", "-p", "-T", "bogus", "q.qcow2", "r.raw"],
      ["resize", "-f", "raw", "--preallocation=metadata", "r.raw", "2M"],
      ["check", "-T", "bogus", "q.qcow2"],
      ["check", "-U", "-r", "all", "q.qcow2"],
      ["create", "-f", "qcow2", "-b", "-F", "raw", "c.qcow2", "1M"],
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
    name: "an empty file name, an unknown -f before the file is looked at, a target that is a directory; a data file that cannot be created reads 'Could not create'",
    setup: "mkdir d && qemu-img create -q -f raw r.raw 1k",
    cmds: [
      ["info", ""],
      ["info", "-f", "qcow2", ""],
      ["info", "-f", "bogus", ""],
      ["info", "-f", "bogus", "nosuch"],
      ["check", "-f", "bogus", "d"],
      ["convert", "-O", "raw", "r.raw", "d"],
      ["dd", "if=r.raw", "of=d"],
      ["create", "-f", "qcow2", "-o", "data_file=", "n1", "1M"],
      ["create", "-f", "qcow2", "-o", "data_file=nosuchdir/x", "n2", "1M"],
      ["convert", "-O", "qcow2", "-o", "data_file=d", "r.raw", "n3"],
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
  {
    name: "commit as qemu's mirror job: granules of the base's cluster size (4-64 KiB) copied whole from the chain's view, zero granules as write-zeroes (512-byte-cluster, 4 KiB, extended-L2 and raw bases; seed 30530). The host offsets are not compared: qemu's job allocates granules in the order its parallel requests complete",
    setup: [
      "qemu-img create -q -f raw b.raw 4M && qemu-io -f raw -c 'write -P 1 0 100k' b.raw >/dev/null",
      "qemu-img create -q -f qcow2 -o cluster_size=512 b512.qcow2 4M",
      "qemu-img create -q -f qcow2 -o extended_l2=on,compression_type=zstd bx.qcow2 4M",
      "qemu-img create -q -f qcow2 -o cluster_size=4k g.qcow2 4M && qemu-io -c 'write -P 1 0 3M' g.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 -b g.qcow2 -F qcow2 m.qcow2 && qemu-io -c 'write -P 2 100k 10k' -c 'write -z 1M 64k' m.qcow2 >/dev/null",
      `mk() { qemu-img create -q -f qcow2 -o cluster_size=512 -b "$1" -F "$2" "c-$1" && qemu-io -c 'write -P 0xa3 335153 4096' -c 'write -P 5 1M 700' -c 'write -z 2M 8k' "c-$1" >/dev/null; }`,
      "mk b.raw raw && mk b512.qcow2 qcow2 && mk bx.qcow2 qcow2 && mk m.qcow2 qcow2",
    ].join(" && "),
    cmds: [
      ["commit", "-d", "c-b.raw"],
      ["commit", "-d", "c-b512.qcow2"],
      ["commit", "-d", "c-bx.qcow2"],
      ["commit", "-b", "g.qcow2", "c-m.qcow2"],
    ],
  },
  {
    name: "LUKS in cbc/essiv mode (qemu-img's image) reads as qemu reads it; an essiv hash without an AES of its length is refused",
    setup: [
      "S='--object secret,id=sec0,data=abc123'",
      "for i in 1 2 3 4 5 6 7 8; do qemu-img create -q $S -f qcow2 -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.cipher-alg=aes-128 e.qcow2 1M 2>/dev/null && break; done",
      "qemu-io $S --image-opts driver=qcow2,file.filename=e.qcow2,encrypt.key-secret=sec0 -c 'write -P 0x5a 4096 8k' >/dev/null",
    ].join(" && "),
    cmds: [
      ["info", "--output=json", "e.qcow2"],
      [
        "convert",
        "--object",
        "secret,id=sec0,data=abc123",
        "--image-opts",
        "driver=qcow2,file.filename=e.qcow2,encrypt.key-secret=sec0",
        "-O",
        "raw",
        "o.raw",
      ],
      [
        "create",
        "--object",
        "secret,id=sec0,data=abc123",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha512",
        "n.qcow2",
        "1M",
      ],
    ],
  },
  {
    name: "json: filenames open as the same options given to --image-opts (nested or dotted keys), and are shown by their file's name",
    setup: "qemu-img create -q -f qcow2 q.qcow2 1M && qemu-img create -q -f raw r.raw 1M",
    cmds: [
      ["info", 'json:{"driver":"qcow2","file":{"driver":"file","filename":"q.qcow2"}}'],
      ["info", "--output=json", 'json:{"file.filename":"q.qcow2"}'],
      ["info", "-f", "raw", 'json:{"file":{"filename":"q.qcow2"}}'],
      ["check", 'json:{"file":{"filename":"q.qcow2"}}'],
      ["map", "--output=json", 'json:{"driver":"raw","file":{"filename":"r.raw"}}'],
      ["compare", 'json:{"file.filename":"q.qcow2"}', "r.raw"],
      ["convert", "-O", "raw", 'json:{"file.filename":"q.qcow2"}', "o.raw"],
      ["info", 'json:{"file.filename":"nosuch"}'],
    ],
  },
  {
    name: "preallocation=metadata of a size that ends inside a cluster writes that cluster's copy-on-write tail (or its subcluster's) as zeros, as qemu's request does (create and resize; seed 31434)",
    setup: "qemu-img create -q -f qcow2 r.qcow2 100000",
    cmds: [
      ["create", "-f", "qcow2", "-o", "compat=0.10,preallocation=metadata", "a.qcow2", "999999"],
      ["create", "-f", "qcow2", "-o", "preallocation=metadata,cluster_size=2M", "b.qcow2", "1000"],
      ["create", "-f", "qcow2", "-o", "preallocation=metadata,extended_l2=on", "c.qcow2", "999999"],
      ["resize", "--preallocation=metadata", "r.qcow2", "999999"],
      ["info", "a.qcow2"],
    ],
  },
  {
    name: "amend compat=0.10 refuses internal snapshots of another disk size, as qemu's downgrade",
    setup: [
      "qemu-img create -q -f qcow2 s.qcow2 4M && qemu-img snapshot -c a s.qcow2 && qemu-img resize -q s.qcow2 6M",
      "qemu-img create -q -f qcow2 t.qcow2 4M && qemu-img snapshot -c a t.qcow2",
    ].join(" && "),
    cmds: [
      ["amend", "-o", "compat=0.10", "s.qcow2"],
      ["amend", "-o", "compat=0.10", "t.qcow2"],
      ["snapshot", "-l", "t.qcow2"],
    ],
  },
  {
    name: "snapshot -a of a snapshot taken at another size resizes the image first, as qemu's goto (a shrink discards past the end and cuts the file; a grow extends the L1)",
    setup: [
      "qemu-img create -q -f qcow2 s.qcow2 4M && qemu-io -c 'write -P 1 0 1M' s.qcow2 >/dev/null && qemu-img snapshot -c a s.qcow2",
      "qemu-img resize -q s.qcow2 6M && qemu-io -c 'write -P 3 5M 64k' s.qcow2 >/dev/null && cp s.qcow2 t.qcow2",
      "qemu-img create -q -f qcow2 g.qcow2 8M && qemu-io -c 'write -P 1 6M 1M' g.qcow2 >/dev/null && qemu-img snapshot -c big g.qcow2",
      "qemu-img resize -q --shrink g.qcow2 2M",
    ].join(" && "),
    cmds: [
      ["snapshot", "-a", "a", "s.qcow2"],
      ["info", "s.qcow2"],
      ["snapshot", "-a", "1", "t.qcow2"],
      ["check", "t.qcow2"],
      ["snapshot", "-a", "big", "g.qcow2"],
      ["map", "--output=json", "g.qcow2"],
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

test("LUKS images tsvirt-img makes in every AES mode qemu creates (xts, cbc, ecb, ctr; plain, plain64, essiv) read back through qemu-img", async (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
  const dir = join(base, "luks-modes");
  await mkdir(dir);
  const secret = ["--object", "secret,id=sec0,data=abc123"];
  const src = join(dir, "src.raw");
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < 70000; i++) data[i] = (i * 7919) & 0xff;
  await writeFile(src, data);
  const modes = [
    "cipher-mode=cbc",
    "cipher-mode=cbc,ivgen-alg=essiv",
    "cipher-mode=cbc,ivgen-alg=plain,cipher-alg=aes-256",
    "cipher-mode=ctr",
    "cipher-mode=ecb,cipher-alg=aes-128",
    "cipher-mode=xts,ivgen-alg=essiv",
    "cipher-mode=xts,ivgen-alg=plain,cipher-alg=aes-192",
    "cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5,cipher-alg=aes-128",
  ];
  const problems: string[] = [];
  for (const [i, m] of modes.entries()) {
    const o = m.replace(/([a-z-]+=)/g, "encrypt.$1");
    const out = join(dir, `m${i}.qcow2`);
    const opts = `encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,${o}`;
    const c = await tsvirt(["convert", ...secret, "-O", "qcow2", "-o", opts, src, out], dir);
    if (c.code !== 0) {
      problems.push(`${m}: ${c.stderr}`);
      continue;
    }
    const cmp = await run(
      "qemu-img",
      [
        "compare",
        ...secret,
        "--image-opts",
        `driver=raw,file.filename=${src}`,
        `driver=qcow2,file.filename=${out},encrypt.key-secret=sec0`,
      ],
      dir,
    );
    if (cmp.code !== 0) problems.push(`${m}: ${cmp.stdout}${cmp.stderr}`);
  }
  assert.deepEqual(problems, []);
});
