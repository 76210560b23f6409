// Hand-picked command lines, each run through real qemu-img and through tsvirt-img (in-process
// main()) on identical copies of a directory prepared by qemu-img/qemu-io: stdout, stderr
// (program name and directory normalised), exit code, and every file either tool created or
// changed (bytes compared with `qemu-img compare`, `qemu-img info --output=json` with random
// fields masked, and the allocated size after fsync, give or take ext4's one extent index block)
// must agree. Each case names what it pins.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { zstdAvailable } from "../src/image/io/native.js";
import { type DiffCase, HAVE_QEMU, runDiffCase } from "./tsvirt-img-diff-harness.js";

interface Case extends DiffCase {
  /** Needs zstd (tsvirt-img's native addon with the system's libzstd). */
  zstd?: boolean;
}

const CASES: Case[] = [
  {
    name: "create -b of a missing file without -F: the backing file's open error (qcow2)",
    setup: "",
    cmds: [["create", "-f", "qcow2", "-b", "nosuch.img", "a.qcow2", "10M"]],
  },
  {
    name: "create -b of a missing file without -F: the backing file's open error (qcow)",
    setup: "",
    cmds: [["create", "-f", "qcow", "-o", "backing_file=nosuch.img", "a.qcow", "10M"]],
  },
  {
    name: "create -b naming a directory, with and without -F",
    setup: "mkdir d",
    cmds: [
      ["create", "-f", "qcow2", "-b", "d", "a.qcow2", "10M"],
      ["create", "-f", "qcow2", "-b", "d", "-F", "raw", "a.qcow2", "10M"],
    ],
  },
  {
    name: "convert -c -O qcow2: L2 table before the data, clusters packed and spanning as qemu's",
    setup:
      "qemu-img create -q -f raw a.raw 1000000 && qemu-io -f raw -c 'write -P 1 0 1000000' -c 'write -P 9 1000 3000' a.raw",
    cmds: [
      ["convert", "-c", "-O", "qcow2", "a.raw", "o64k"],
      ["convert", "-c", "-O", "qcow2", "-o", "cluster_size=4k", "a.raw", "o4k"],
      ["convert", "-c", "-O", "qcow2", "-o", "cluster_size=512", "a.raw", "o512"],
      ["convert", "-c", "-O", "qcow2", "-o", "cluster_size=4k,refcount_bits=1", "a.raw", "o4k1"],
      ["convert", "-c", "-O", "qcow2", "-o", "cluster_size=1k,refcount_bits=2", "a.raw", "o1k2"],
    ],
    bytes: true,
  },
  {
    name: "convert -p prints qemu's steps: block-status requests, 2 MiB buffers, clusters when compressing",
    setup: [
      "qemu-img create -q -f raw r.raw 5000000",
      "qemu-io -f raw -c 'write -P 1 0 1M' -c 'write -P 2 3M 100k' -c 'write -P 3 4900000 100000' r.raw",
      "qemu-img create -q -f qcow2 -o cluster_size=4k q4.qcow2 6M",
      "qemu-io -c 'write -P 1 5M 1M' -c 'write -P 2 0 3M' -c 'write -z 3M 512k' -c 'write -P 5 4M 4k' q4.qcow2",
      "qemu-img create -q -f qcow2 -b q4.qcow2 -F qcow2 c.qcow2 && qemu-io -c 'write -P 7 1M 1M' c.qcow2",
      "qemu-img create -q -f vmdk v.vmdk 5M && qemu-io -f vmdk -c 'write -P 1 0 3M' -c 'write -P 2 4M 100k' v.vmdk",
      "qemu-img create -q -f vdi d.vdi 5M && qemu-io -f vdi -c 'write -P 1 0 3M' -c 'write -P 2 4M 100k' d.vdi",
      "qemu-img create -q -f qcow w.qcow 5M && qemu-io -f qcow -c 'write -P 1 0 300k' -c 'write -P 2 4M 100k' w.qcow",
    ].join(" && "),
    cmds: [
      ["convert", "-p", "-O", "raw", "r.raw", "o1"],
      ["convert", "-p", "-O", "qcow2", "c.qcow2", "o2"],
      ["convert", "-p", "-S", "0", "-O", "qcow2", "q4.qcow2", "o3"],
      ["convert", "-p", "-c", "-O", "qcow2", "-o", "cluster_size=4k", "v.vmdk", "o4"],
      ["convert", "-p", "-O", "vmdk", "-o", "subformat=streamOptimized", "d.vdi", "o5"],
      ["convert", "-p", "-S", "0", "-O", "qcow2", "w.qcow", "o6"],
      ["convert", "-p", "-O", "qcow2", "-B", "q4.qcow2", "-F", "qcow2", "c.qcow2", "o7"],
      ["convert", "-p", "-c", "-O", "qcow2", "r.raw", "q4.qcow2", "o8"],
      ["convert", "-p", "-q", "-O", "raw", "r.raw", "o9"],
      ["convert", "-p", "-O", "foo", "r.raw", "o10"],
      ["convert", "-p", "nosuch", "o11"],
    ],
  },
  {
    name: "convert: qemu-img's option checks and their order (-S, -r, -T, -t, -C, -l, -o after opening)",
    setup:
      "qemu-img create -q -f raw r 1M && qemu-img create -q -f qcow2 s.qcow2 1M && qemu-io -c 'write -P 1 0 64k' s.qcow2 && qemu-img snapshot -c snap1 s.qcow2 && qemu-io -c 'write -P 2 0 64k' s.qcow2",
    cmds: [
      ["convert", "-S", ".5M", "r", "o"],
      ["convert", "-S", "99999999999999999999", "r", "o"],
      ["convert", "-S", "3", "r", "o"],
      ["convert", "-r", "-1", "r", "o"],
      ["convert", "-T", "bogus", "r", "o"],
      ["convert", "-t", "bogus", "r", "o1"],
      ["convert", "-C", "--salvage", "r", "o"],
      ["convert", "-c", "-C", "-n", "--target-is-zero", "-o", "x=y"],
      ["convert", "--skip-broken-bitmaps", "r", "o"],
      ["convert", "-n", "-o", "help", "r"],
      ["convert", "-n", "--target-is-zero", "-B", "x", "r", "r"],
      ["convert", "-O", "qcow2", "-o", "foo=bar", "nosuch", "o"],
      ["convert", "-O", "raw", "-B", "x", "nosuch", "o"],
      ["convert", "-O", "qcow2", "-B", "x", "-o", "backing_file=y", "r", "o"],
      ["convert", "-l", "foo", "r", "o"],
      ["convert", "-l", "snap1", "s.qcow2", "s.qcow2", "o"],
      ["convert", "-l", "nosuch", "s.qcow2", "o"],
      ["convert", "-l", "snapshot.foo=1", "s.qcow2", "o"],
      ["convert", "-l", "snap1", "s.qcow2", "o2"],
      ["convert", "-l", "snapshot.id=1", "-O", "qcow2", "s.qcow2", "o3"],
    ],
  },
  {
    name: "convert -c -O qcow exits 1 silently after writing everything (qemu 7.2's final empty write)",
    setup:
      "qemu-img create -q -f raw a.raw 1000000 && qemu-io -f raw -c 'write -P 1 0 1000000' a.raw && qemu-img create -q -f raw b.raw 70000",
    cmds: [
      ["convert", "-c", "-O", "qcow", "a.raw", "o.qcow"],
      ["convert", "-p", "-c", "-O", "qcow", "a.raw", "b.raw", "p.qcow"],
    ],
    bytes: true,
  },
  {
    name: "convert -c of concatenated sources: the cluster where they meet is compressed whole",
    setup:
      "qemu-img create -q -f raw r.raw 5000000 && qemu-io -f raw -c 'write -P 1 0 5000000' r.raw && qemu-img create -q -f qcow2 q.qcow2 1000000 && qemu-io -c 'write -P 2 0 1000000' q.qcow2",
    cmds: [
      ["convert", "-c", "-O", "qcow2", "r.raw", "q.qcow2", "o1"],
      ["convert", "-c", "-O", "qcow2", "-o", "cluster_size=4k", "r.raw", "q.qcow2", "o2"],
      ["convert", "-O", "vmdk", "-o", "subformat=streamOptimized", "r.raw", "q.qcow2", "o3.vmdk"],
    ],
  },
  {
    name: "info --object / --image-opts: secrets read, malformed objects refused, json: names for encrypt options; keyless LUKS target",
    setup: [
      "qemu-img create -q -f raw b.raw 1M && qemu-img create -q -f qcow2 -b b.raw -F raw a.qcow2 1M",
      // (qemu's LUKS iteration benchmark sometimes fails under load: retried.)
      "for i in 1 2 3 4 5 6; do qemu-img create -q --object secret,id=sec0,data=abc123 -f qcow2 -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 enc.qcow2 1M && break; sleep 1; done",
    ].join(" && "),
    cmds: [
      ["info", "--object", "secret,id=0bad,data=abc", "a.qcow2"],
      ["info", "--object", "secret", "a.qcow2"],
      ["info", "--backing-chain", "--image-opts", "driver=qcow2,file.filename=a.qcow2"],
      ["info", "--output=json", "--image-opts", "file.filename=a.qcow2,lazy-refcounts=on"],
      ["info", "-f", "qcow2", "--image-opts", "driver=qcow2,file.filename=a.qcow2"],
      ["info", "--image-opts", "a.qcow2"],
      [
        "info",
        "--output=json",
        "--backing-chain",
        "--object",
        "secret,id=sec0,data=abc123",
        "--image-opts",
        "driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=sec0",
      ],
      ["info", "--image-opts", "driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=nosuch"],
      // A LUKS target without its key does not open for convert -n.
      ["convert", "-O", "qcow2", "-n", "--target-is-zero", "a.qcow2", "enc.qcow2"],
    ],
  },
  {
    name: "qcow2 AES (encryption=on / encrypt.format=aes) is created and written as qemu 7.2 does",
    setup: "qemu-img create -q -f raw r.raw 1M && qemu-io -f raw -c 'write -P 7 0 100k' r.raw",
    cmds: [
      [
        "create",
        "--object",
        "secret,id=s,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encryption=on,encrypt.key-secret=s",
        "a.qcow2",
        "1M",
      ],
      ["info", "a.qcow2"],
      [
        "convert",
        "--object",
        "secret,id=s,data=pw",
        "-O",
        "qcow2",
        "-o",
        "encrypt.format=aes,encrypt.key-secret=s",
        "r.raw",
        "b.qcow2",
      ],
      [
        "compare",
        "--object",
        "secret,id=s,data=pw",
        "r.raw",
        "--image-opts",
        "driver=qcow2,file.filename=b.qcow2,encrypt.key-secret=s",
      ],
      [
        "create",
        "--object",
        "secret,id=s,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encryption=on,encrypt.key-secret=s9",
        "c.qcow2",
        "1M",
      ],
      [
        "create",
        "--object",
        "secret,id=s,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=aes",
        "c.qcow2",
        "1M",
      ],
      [
        "create",
        "--object",
        "secret,id=s,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=aes,encrypt.key-secret=s,encrypt.hash-alg=md5,encrypt.iter-time=1",
        "c.qcow2",
        "1M",
      ],
      [
        "create",
        "--object",
        "secret,id=s,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encryption=on,encrypt.key-secret=s,encrypt.ivgen-alg=plain,encrypt.cipher-alg=aes-128",
        "c.qcow2",
        "1M",
      ],
    ],
  },
  {
    name: "LUKS create options outside qemu's enums are refused with its wording",
    setup: "",
    cmds: [
      "cipher-alg=bogus",
      "cipher-mode=bogus",
      "ivgen-alg=bogus",
      "ivgen-hash-alg=bogus",
      "hash-alg=sha3",
    ].map((o) => [
      "create",
      "--object",
      "secret,id=s,data=pw",
      "-f",
      "qcow2",
      "-o",
      `encrypt.format=luks,encrypt.key-secret=s,encrypt.iter-time=10,encrypt.${o}`,
      "n.qcow2",
      "1M",
    ]),
  },
  {
    name: "measure -l: qcow2 internal snapshots loaded, other formats refused as qemu",
    setup:
      "qemu-img create -q -f qcow2 s.qcow2 1M && qemu-io -c 'write -P 1 0 64k' s.qcow2 && qemu-img snapshot -c snap1 s.qcow2 && qemu-io -c 'write -P 2 0 512k' s.qcow2 && qemu-img create -q -f qcow w.qcow 1M",
    cmds: [
      ["measure", "-O", "qcow2", "-l", "1", "w.qcow"],
      ["measure", "-O", "qcow2", "-l", "snap1", "s.qcow2"],
      ["measure", "-O", "qcow2", "-l", "nosuch", "s.qcow2"],
      ["measure", "-O", "raw", "-l", "snapshot.name=snap1", "s.qcow2"],
      ["measure", "-l", "snapshot.x=1", "s.qcow2"],
    ],
  },
  {
    name: "--image-opts for snapshot, amend, commit and rebase (and their refusals)",
    setup: [
      "qemu-img create -q -f raw b.raw 1M && qemu-img create -q -f raw c.raw 1M",
      "for n in s a m r u; do qemu-img create -q -f qcow2 -b b.raw -F raw $n.qcow2 && qemu-io -c 'write -P 1 0 64k' $n.qcow2; done",
    ].join(" && "),
    cmds: [
      ["snapshot", "-c", "s1", "--image-opts", "driver=qcow2,file.filename=s.qcow2"],
      ["snapshot", "-d", "s1", "--image-opts", "file.filename=s.qcow2"],
      ["amend", "-o", "compat=0.10", "--image-opts", "driver=qcow2,file.filename=a.qcow2"],
      ["commit", "--image-opts", "driver=qcow2,file.filename=m.qcow2"],
      ["rebase", "-b", "c.raw", "-F", "raw", "--image-opts", "driver=qcow2,file.filename=r.qcow2"],
      ["rebase", "-u", "-b", "c.raw", "-F", "raw", "--image-opts", "driver=qcow2,file.filename=u.qcow2"],
      ["snapshot", "-l", "-f", "qcow2", "--image-opts", "driver=qcow2,file.filename=s.qcow2"],
      ["rebase", "-f", "qcow2", "-u", "-b", "", "--image-opts", "driver=qcow2,file.filename=u.qcow2"],
      ["commit", "--image-opts", "m.qcow2"],
    ],
  },
  {
    name: "commit empties a v3 top as qemu (header cluster rewritten: same disk usage)",
    setup:
      "qemu-img create -q -f qcow2 b.qcow2 10M && qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 a.qcow2 && qemu-io -c 'write -P 1 0 3M' -c 'write -z 5M 1M' a.qcow2",
    cmds: [["commit", "a.qcow2"]],
  },
  {
    name: "truncated images: a qcow2 whose L1 lies past the end opens; a short vmdk names its expected size",
    setup:
      "qemu-img create -q -f qcow2 a.qcow2 10M && head -c 70000 a.qcow2 > t.qcow2 && qemu-img create -q -f vmdk a.vmdk 10M && head -c 600 a.vmdk > t.vmdk",
    cmds: [
      ["info", "t.qcow2"],
      ["check", "t.qcow2"],
      ["map", "t.qcow2"],
      ["convert", "t.qcow2", "o.raw"],
      ["info", "t.vmdk"],
    ],
  },
  {
    name: "create -b without -F opens the backing file with its own chain (a missing grand-backing file)",
    setup:
      "qemu-img create -q -f qcow2 -b n3 -F qcow2 -u n4 1M && qemu-img create -q -f qcow2 n3x 1M && echo hi > text",
    cmds: [
      ["create", "-f", "qcow2", "-b", "n4", "n5", "1M"],
      ["create", "-f", "qcow2", "-b", "n4", "-F", "qcow2", "n5"],
      ["create", "-f", "qcow2", "-b", "text", "n6"],
      ["create", "-f", "vmdk", "-b", "n3x", "n7"],
    ],
  },
  {
    name: "-o lists qemu rejects (empty, leading comma, odd trailing commas); qcow/qcow2 encryption option clashes",
    setup: "qemu-img create -q -f raw r 1M",
    cmds: [
      ["create", "-f", "qcow2", "-o", "", "c", "1M"],
      ["create", "-f", "qcow2", "-o", ",", "c", "1M"],
      ["create", "-f", "qcow2", "-o", "a=b,,", "c", "1M"],
      ["convert", "-O", "qcow2", "-o", "a=b,", "r", "o"],
      ["amend", "-o", ",a=b", "r"],
      ["measure", "-O", "qcow2", "-o", "a=b,,,", "--size", "1M"],
      ...["qcow", "qcow2"].flatMap((f) =>
        [
          "encrypt.format=luks",
          "encrypt.format=bogus",
          "encryption=on,encrypt.format=luks",
          "encryption=off,encrypt.format=aes",
          "encryption=on,encrypt.format=aes,encrypt.key-secret=s",
        ].map((o) => [
          "create",
          "--object",
          "secret,id=s,data=x",
          "-f",
          f,
          "-o",
          o,
          `e-${f}-${o.length}`,
          "1M",
        ]),
      ),
    ],
  },
  {
    name: "preallocation with extended L2: clusters linked without allocated subclusters, file cut at the last subcluster",
    setup:
      "qemu-img create -q -f qcow2 -o lazy_refcounts=on b.q 64k && qemu-io -c 'write -P 0x5a 21504 512' b.q",
    cmds: [
      [
        "create",
        "-f",
        "qcow2",
        "-o",
        "extended_l2=on,refcount_bits=1,preallocation=metadata",
        "-b",
        "b.q",
        "-F",
        "qcow2",
        "n1",
        "999999",
      ],
      ["map", "--output=json", "n1"],
      [
        "create",
        "-f",
        "qcow2",
        "-o",
        "extended_l2=on,preallocation=metadata,cluster_size=16k",
        "n2",
        "999999",
      ],
      [
        "create",
        "-f",
        "qcow2",
        "-o",
        "extended_l2=on,preallocation=falloc",
        "-b",
        "b.q",
        "-F",
        "qcow2",
        "n3",
        "3M",
      ],
      ["map", "--output=json", "n3"],
    ],
  },
  {
    name: "amend -f FMT -o help needs no image; formats without amendment and unknown ones refused as qemu",
    setup: "qemu-img create -q -f qcow2 a.qcow2 1M",
    cmds: [
      ["amend", "-f", "vmdk", "-o", "help"],
      ["amend", "-f", "qcow2", "-o", "help"],
      ["amend", "-f", "bogus", "-o", "help"],
      ["amend", "-f", "raw", "-o", "?", "a.qcow2"],
      ["amend", "-o", "help", "a.qcow2"],
    ],
  },
  {
    name: "amend -p: qemu's progress lines (upgrade steps, downgrade per L1 entry, failures, early errors)",
    setup: [
      "qemu-img create -q -f qcow2 -o compat=0.10 up 1M && qemu-io -c 'write -P 1 0 512k' up",
      "qemu-img create -q -f qcow2 down 3G && qemu-io -c 'write -P 1 0 512k' -c 'write -P 2 2100M 64k' down && qemu-img snapshot -c s down",
      "qemu-img create -q -f qcow2 x 1M",
    ].join(" && "),
    cmds: [
      ["amend", "-p", "-o", "compat=1.1", "up"],
      ["amend", "-p", "-o", "compat=0.10", "down"],
      ["amend", "-p", "-o", "size=2M", "x"],
      ["amend", "-p", "-o", "compat=2", "x"],
      ["amend", "-p", "-o", "foo=1", "x"],
      ["amend", "-p", "-q", "-o", "lazy_refcounts=on", "x"],
      ["amend", "-p", "-o", "compat=1.1", "missing"],
    ],
  },
  {
    name: "snapshot names keep at most 255 bytes; vmdk create checks in qemu's order (flat with a backing file refused)",
    setup:
      "qemu-img create -q -f qcow2 s.qcow2 1M && qemu-img create -q -f raw bb 1M && qemu-img create -q -f vmdk vb 1M",
    cmds: [
      ["snapshot", "-c", "n".repeat(300), "s.qcow2"],
      ["snapshot", "-d", "n".repeat(300), "s.qcow2"],
      ["snapshot", "-d", "n".repeat(255), "s.qcow2"],
      ["create", "-q", "-f", "vmdk", "-o", "compat6=on,hwversion=7", "-b", "bb", "-F", "raw", "f1", "1M"],
      [
        "create",
        "-q",
        "-f",
        "vmdk",
        "-o",
        "subformat=monolithicFlat,zeroed_grain=on",
        "-b",
        "vb",
        "-F",
        "vmdk",
        "f2",
        "1M",
      ],
      ["create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", "-b", "vb", "-F", "vmdk", "f3", "1M"],
      ["create", "-q", "-f", "vmdk", "-o", "subformat=bogus", "-b", "bb", "-F", "raw", "f4", "1M"],
    ],
  },
  {
    name: "LUKS with AES-192-XTS (qemu's cipher-alg=aes-192) reads as qemu-img reads it",
    setup: [
      "for i in 1 2 3 4 5 6; do qemu-img create -q --object secret,id=s,data=pw -f qcow2 -o encrypt.format=luks,encrypt.key-secret=s,encrypt.iter-time=10,encrypt.cipher-alg=aes-192 n.img 1M && break; sleep 1; done",
      "qemu-io --object secret,id=s,data=pw --image-opts -c 'write -P 0x37 4096 70000' driver=qcow2,file.filename=n.img,encrypt.key-secret=s",
    ].join(" && "),
    cmds: [
      [
        "convert",
        "--object",
        "secret,id=s,data=pw",
        "--image-opts",
        "driver=qcow2,file.filename=n.img,encrypt.key-secret=s",
        "o.raw",
      ],
      ["info", "n.img"],
    ],
  },
  {
    name: "create and amend to compat=0.10 write no feature name table",
    setup: "qemu-img create -q -f qcow2 b.qcow2 1M",
    cmds: [
      ["create", "-q", "-f", "qcow2", "-o", "compat=0.10", "a.qcow2", "5000000"],
      ["amend", "-o", "compat=0.10", "b.qcow2"],
    ],
    bytes: true,
  },
  {
    name: "convert -O vmdk streamOptimized: each grain's reserved cluster is written (disk size)",
    setup:
      "qemu-img create -q -f qcow2 a.qcow2 10M && qemu-io -c 'write -P 1 0 1M' -c 'write -z 2M 1M' -c 'write -P 3 5M 2M' a.qcow2",
    cmds: [["convert", "-O", "vmdk", "-o", "subformat=streamOptimized", "a.qcow2", "o.vmdk"]],
  },
  {
    name: "convert onto an existing file of another size (raw, vmdk, qcow2, vdi)",
    setup:
      "qemu-img create -q -f raw r 10M && qemu-io -f raw -c 'write -P 1 0 10M' r && truncate -s 20M o1 && head -c 3M /dev/urandom > o2 && head -c 3M /dev/urandom > o3 && truncate -s 1M o4",
    cmds: [
      ["convert", "r", "o1"],
      ["convert", "-O", "vmdk", "r", "o2"],
      ["convert", "-O", "qcow2", "r", "o3"],
      ["convert", "-O", "vdi", "r", "o4"],
    ],
  },
  {
    name: "resize --shrink of qcow2: freed clusters discarded, empty refcount blocks dropped",
    setup:
      "qemu-img create -q -f qcow2 -o cluster_size=4k,refcount_bits=64 a.qcow2 100M && qemu-io -c 'write -P 1 50M 50M' -c 'write -P 2 0 50M' a.qcow2",
    cmds: [["resize", "--shrink", "a.qcow2", "5M"]],
  },
  {
    name: "resize --shrink of an empty qcow2 inside one L2 range allocates that L2 table",
    setup: "qemu-img create -q -f qcow2 a.qcow2 1M && qemu-img create -q -f qcow2 b.qcow2 1M",
    cmds: [
      ["resize", "--shrink", "a.qcow2", "512k"],
      ["resize", "--shrink", "b.qcow2", "1000k"],
    ],
  },
  {
    name: "resize --shrink after a sparse copy: L2 tables, refcount blocks and table written whole",
    setup:
      "qemu-img create -q -f qcow2 x.qcow2 10M && qemu-io -c 'write -P 1 9M 1M' x.qcow2 && cp --sparse=always x.qcow2 a.qcow2 && rm x.qcow2",
    cmds: [["resize", "--shrink", "a.qcow2", "5M"]],
  },
  {
    name: "amend rewrites the header cluster once the options parsed (also when nothing changes)",
    setup:
      "for c in 0.10 1.1; do qemu-img create -q -f qcow2 -o compat=$c x.qcow2 1M && cp --sparse=always x.qcow2 v$c.qcow2; done; cp v1.1.qcow2 w.qcow2; cp v1.1.qcow2 y.qcow2; cp v0.10.qcow2 z.qcow2; rm x.qcow2",
    cmds: [
      ["amend", "-o", "compat=0.10", "v0.10.qcow2"],
      ["amend", "-o", "lazy_refcounts=off", "v1.1.qcow2"],
      ["amend", "-o", "size=512k", "w.qcow2"],
      ["amend", "-o", "backing_file=foo", "y.qcow2"],
      ["amend", "-o", "refcount_bits=8", "z.qcow2"],
    ],
  },
  {
    name: "snapshot -c/-a/-d after a sparse copy: same clusters allocated and punched",
    setup:
      "qemu-img create -q -f qcow2 x.qcow2 1M && qemu-io -c 'write 0 100k' x.qcow2 && cp --sparse=always x.qcow2 a.qcow2 && rm x.qcow2",
    cmds: [
      ["snapshot", "-c", "s", "a.qcow2"],
      ["snapshot", "-c", "t", "a.qcow2"],
      ["snapshot", "-a", "s", "a.qcow2"],
      ["snapshot", "-d", "t", "a.qcow2"],
      ["snapshot", "-d", "s", "a.qcow2"],
    ],
  },
  {
    name: "a vmdk whose parent was written since (parent CID changed) reads its backing data as EINVAL",
    setup: [
      "qemu-img create -q -f vmdk m.vmdk 8M && qemu-io -f vmdk -c 'write -P 1 0 8M' m.vmdk",
      "qemu-img create -q -f vmdk -b m.vmdk -F vmdk c.vmdk && qemu-io -f vmdk -c 'write -P 5 64k 64k' c.vmdk",
      "qemu-img create -q -f vmdk -b m.vmdk -F vmdk d.vmdk && qemu-io -f vmdk -c 'write -P 5 0 192k' d.vmdk",
      "qemu-img create -q -f vmdk -b m.vmdk -F vmdk e.vmdk",
      "qemu-io -f vmdk -c 'write -P 2 0 4k' m.vmdk && qemu-img create -q -f raw r 8M",
    ].join(" && "),
    cmds: [
      // (Which of the requests before a failing one qemu's convert writes depends on its
      // coroutines' timing: only conversions failing at their first request are compared.)
      ["convert", "c.vmdk", "o1"],
      ["convert", "-O", "qcow2", "e.vmdk", "o2"],
      ["convert", "-m", "1", "-O", "vdi", "e.vmdk", "o3"],
      ["compare", "c.vmdk", "m.vmdk"],
      ["compare", "m.vmdk", "d.vmdk"],
      ["compare", "-s", "r", "e.vmdk"],
      ["dd", "if=d.vmdk", "of=o4", "bs=1000"],
      ["map", "c.vmdk"],
      ["check", "c.vmdk"],
      ["rebase", "-b", "", "e.vmdk"],
      ["commit", "d.vmdk"],
      ["convert", "-O", "vmdk", "c.vmdk", "o5"],
    ],
  },
  {
    name: "empty and clashing image/backing names: bdrv_img_create's and vmdk's checks",
    setup: "qemu-img create -q -f raw r 1M",
    cmds: [
      ["create", "-f", "qcow2", "-b", "x", "-F", "raw", "x", "1M"],
      ["create", "-f", "qcow2", "-b", "", "-F", "raw", "x", "1M"],
      ["create", "-f", "qcow2", "-b", "r", "-F", "raw", "", "1M"],
      ["create", "-f", "qcow2", "", "1M"],
      ["create", "-f", "vmdk", "-o", "subformat=bogus", "", "1M"],
      ["convert", "-O", "vmdk", "r", ""],
      ["convert", "r", ""],
      ["convert", "r", "nosuchdir/x"],
      ["dd", "-O", "vmdk", "if=r", "of="],
      ["dd", "if=r", "of="],
    ],
  },
  {
    name: "convert -c -n: zero clusters are written as zeros, not compressed (v2 target with a backing file)",
    setup: [
      "qemu-img create -q -f qcow2 x.qcow2 1000000 && qemu-io -c 'write -P 0 393216 606784' -c 'write -P 3 0 4k' x.qcow2",
      "qemu-img create -q -f qcow2 -b x.qcow2 -F qcow2 -o compat=0.10,cluster_size=4k c.img 2048576",
      "qemu-img create -q -f raw z.raw 1M && qemu-io -f raw -c 'write -P 0 0 512k' -c 'write -P 1 512k 64k' z.raw",
    ].join(" && "),
    cmds: [
      ["convert", "-O", "qcow2", "-c", "-n", "x.qcow2", "x.qcow2", "c.img"],
      ["convert", "-c", "-O", "qcow2", "z.raw", "o1"],
      ["convert", "-c", "-S", "0", "-O", "qcow2", "z.raw", "o2"],
    ],
  },
  {
    name: "sizes too large for a format: create, convert, resize and measure wordings (also past 2^53)",
    setup: [
      "qemu-img create -q -f raw r 1M && qemu-img create -q -f qcow2 q.qcow2 1M && cp q.qcow2 q2.qcow2",
      "qemu-img create -q -f qcow2 -o cluster_size=2M big.qcow2 3P",
    ].join(" && "),
    cmds: [
      ["create", "-f", "qcow2", "a", "3P"],
      ["create", "-f", "qcow2", "-o", "cluster_size=4k", "b", "3P"],
      ["create", "-f", "qcow2", "c", "1E"],
      ["create", "-f", "raw", "d", "9P"],
      ["create", "-f", "vdi", "e", "9P"],
      ["create", "-f", "vdi", "f", "562949819203585"],
      ["create", "-q", "-f", "vdi", "g", "100T"],
      ["convert", "-O", "qcow2", "big.qcow2", "h"],
      ["convert", "-O", "vdi", "big.qcow2", "i"],
      ["measure", "-O", "qcow2", "big.qcow2"],
      ["measure", "-O", "qcow2", "-o", "size=3P", "big.qcow2"],
      ["measure", "-O", "qcow2", "--size", "3P"],
      ["resize", "q.qcow2", "3P"],
      ["resize", "q2.qcow2", "9P"],
      ["resize", "-f", "raw", "r", "9P"],
    ],
  },
  {
    name: "-h in a command prints the help (exit 0) where getopt meets it; bad options named as qemu-img names them",
    setup: "qemu-img create -q -f qcow2 a.qcow2 1M",
    cmds: [
      ["info", "-z", "-h"],
      ["info", "x", "-zU"],
      ["info", "-U", "x", "-zU"],
      ["info", "-Uz", "x"],
      ["info", "-zU"],
      ["info", "--output"],
      ["info", "--image-opts=1", "x"],
      ["convert", "--object"],
      ["check", "--force-share=1", "a.qcow2"],
      ["resize", "-h"],
      ["create", "-f", "qcow2", "-Zu", "x", "1M"],
    ],
  },
  {
    name: "LUKS create looks the key secret up before the cipher choices",
    setup: "",
    cmds: [
      [
        "create",
        "--object",
        "secret,id=sec0,data=abc123",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=luks,encrypt.key-secret=sec9,encrypt.iter-time=10,encrypt.ivgen-alg=essiv",
        "n.img",
        "3M",
      ],
    ],
  },
  {
    name: "resize --shrink ends the file after its last used cluster, also when that extends it (512-byte clusters, short L1)",
    setup: "qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=512 d.img 3M && cp d.img e.img",
    cmds: [
      ["resize", "-f", "qcow2", "--shrink", "d.img", "3080192"],
      ["resize", "--shrink", "e.img", "1M"],
    ],
    bytes: true,
  },
  {
    name: "compare -p: qemu's progress steps per status request (common part and the longer image's rest)",
    setup: [
      "qemu-img create -q -f qcow2 b.qcow2 10M && qemu-io -c 'write -P 1 0 2M' b.qcow2",
      "qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 m.qcow2 && qemu-io -c 'write -P 2 1M 2M' m.qcow2",
      "qemu-img create -q -f qcow2 -b m.qcow2 -F qcow2 t.qcow2 && qemu-io -c 'write -P 3 3M 1M' t.qcow2",
      "qemu-img create -q -f qcow2 -b m.qcow2 -F qcow2 big.qcow2 30M && qemu-io -c 'write -P 0 20M 1M' big.qcow2",
      "qemu-img create -q -f raw r.raw 10M",
    ].join(" && "),
    cmds: [
      ["compare", "-p", "t.qcow2", "m.qcow2"],
      ["compare", "-p", "m.qcow2", "m.qcow2"],
      ["compare", "-p", "-q", "m.qcow2", "m.qcow2"],
      ["compare", "-p", "-s", "m.qcow2", "r.raw"],
      ["compare", "-p", "m.qcow2", "nosuch"],
      ["compare", "-p", "m.qcow2", "big.qcow2"],
      ["compare", "-p", "-s", "t.qcow2", "t.qcow2"],
    ],
  },
  {
    name: "map of an encrypted qcow2 (LUKS, AES) shows no host offsets",
    setup: [
      "for i in 1 2 3 4 5 6; do qemu-img create -q --object secret,id=s,data=pw -f qcow2 -o encrypt.format=luks,encrypt.key-secret=s,encrypt.iter-time=10 l.qcow2 1M && break; sleep 1; done",
      "qemu-io --object secret,id=s,data=pw --image-opts driver=qcow2,file.filename=l.qcow2,encrypt.key-secret=s -c 'write -P 0x11 0 4096' -c 'write -P 0x11 200k 100k' -c 'write -z 600k 64k'",
      "qemu-img create -q --object secret,id=s,data=pw -f qcow2 -o encryption=on,encrypt.key-secret=s a.qcow2 1M",
      "qemu-io --object secret,id=s,data=pw --image-opts driver=qcow2,file.filename=a.qcow2,encrypt.key-secret=s -c 'write -P 0x11 0 4096'",
    ].join(" && "),
    cmds: ["l.qcow2", "a.qcow2"].flatMap((f) =>
      ["json", "human"].map((o) => [
        "map",
        `--output=${o}`,
        "--object",
        "secret,id=s,data=pw",
        "--image-opts",
        `driver=qcow2,file.filename=${f},encrypt.key-secret=s`,
      ]),
    ),
  },
  {
    name: "measure of a qcow2 with persistent bitmaps sizes them as qemu (data, table and directory clusters)",
    setup: [
      "qemu-img create -q -f qcow2 b.qcow2 4M && qemu-io -c 'write -P 1 0 1M' b.qcow2",
      "qemu-img bitmap --add b.qcow2 bm1 && qemu-img bitmap --add -g 128k b.qcow2 bitmap-with-a-long-name",
      "qemu-img create -q -f qcow2 c.qcow2 100M && qemu-img bitmap --add -g 512 c.qcow2 x",
    ].join(" && "),
    cmds: [
      ["measure", "-O", "qcow2", "b.qcow2"],
      ["measure", "--output=json", "-O", "qcow2", "-o", "cluster_size=4k", "b.qcow2"],
      ["measure", "-O", "qcow2", "-o", "cluster_size=512", "b.qcow2"],
      ["measure", "-O", "qcow2", "-o", "compat=0.10", "b.qcow2"],
      ["measure", "-O", "qcow2", "c.qcow2"],
    ],
  },
  {
    name: "a v2 image left with a bitmaps extension (amend to 0.10): qemu's open warning, the extension dropped on writable opens",
    setup: [
      "qemu-img create -q -f qcow2 b.qcow2 4M && qemu-io -c 'write -P 1 0 1M' b.qcow2",
      "qemu-img bitmap --add b.qcow2 bm1 && qemu-img amend -o compat=0.10 b.qcow2",
      "cp b.qcow2 c.qcow2 && cp b.qcow2 d.qcow2 && qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 e.qcow2",
    ].join(" && "),
    cmds: [
      ["info", "b.qcow2"],
      ["check", "--output=json", "b.qcow2"],
      ["map", "--output=json", "e.qcow2"],
      ["check", "-r", "leaks", "c.qcow2"],
      ["amend", "-o", "compat=1.1", "d.qcow2"],
      ["info", "d.qcow2"],
    ],
  },
  {
    name: "an empty file opened as vmdk is too small (a few bytes read as a bad descriptor)",
    setup: ": > empty && printf abc > three",
    cmds: [
      ["info", "-f", "vmdk", "empty"],
      ["check", "-f", "vmdk", "empty"],
      ["convert", "-f", "vmdk", "empty", "o"],
      ["info", "-f", "vmdk", "three"],
    ],
  },
  {
    name: "a truncated vdi opens as qemu's (its block map past the end reads as zeros); check counts and names shared blocks as qemu",
    setup:
      "qemu-img create -q -f vdi v.vdi 3M && qemu-io -f vdi -c 'write -P 1 0 1M' v.vdi && head -c 512 v.vdi > a.vdi && head -c 1000 v.vdi > b.vdi && head -c 1500000 v.vdi > c.vdi",
    cmds: [
      ["info", "a.vdi"],
      ["check", "a.vdi"],
      ["check", "--output=json", "b.vdi"],
      ["map", "--output=json", "c.vdi"],
      ["convert", "a.vdi", "o1"],
      ["convert", "-O", "qcow2", "c.vdi", "o2"],
    ],
  },
  {
    name: "convert --bitmaps: qemu's checks on the source (a single qcow2 v3) and the target (bitmaps themselves are not copied)",
    setup: [
      "qemu-img create -q -f raw r 1M && qemu-img create -q -f qcow2 a.qcow2 1M",
      "qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M",
      "qemu-img create -q -f qcow2 b.qcow2 1M && qemu-img bitmap --add b.qcow2 bm",
      "qemu-img create -q -f qcow2 c.qcow2 1M && qemu-img create -q -f raw t.raw 1M",
    ].join(" && "),
    cmds: [
      ["convert", "--bitmaps", "r", "o1"],
      ["convert", "--bitmaps", "r", "r", "o2"],
      ["convert", "--bitmaps", "a.qcow2", "o3"],
      ["convert", "--bitmaps", "-O", "qcow2", "a.qcow2", "o4"],
      ["convert", "--bitmaps", "-O", "qcow2", "v2.qcow2", "o5"],
      ["convert", "--bitmaps", "-O", "qcow2", "-o", "compat=0.10", "a.qcow2", "o6"],
      ["convert", "--bitmaps", "--skip-broken-bitmaps", "-O", "raw", "b.qcow2", "o8"],
      ["convert", "--bitmaps", "-n", "-O", "raw", "a.qcow2", "t.raw"],
      ["convert", "--bitmaps", "-n", "-O", "qcow2", "a.qcow2", "c.qcow2"],
    ],
  },
  {
    name: "corrupt qcow2 headers: versions past 3 probe as qcow2, unknown incompatible bits named from the feature table, tables at 0 or past the end of the file read as zeros, offsets beyond 2^53",
    setup: [
      // pb FILE OFFSET BYTES: overwrite header bytes (octal escapes)
      'pb() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }',
      "qemu-img create -q -f qcow2 b.qcow2 4M && qemu-io -c 'write -P 1 0 1M' b.qcow2 >/dev/null",
      "for n in v4 inc feat rt0 sn0 l1far rtfar snfar l2far l1big rtbig bfo crypt; do cp b.qcow2 $n.qcow2; done",
      "pb v4.qcow2 7 '\\004'",
      "pb inc.qcow2 72 '\\200\\000\\000\\000\\000\\000\\002\\000'",
      // the feature table names bit 4 'extended L2 entries'; move that name to bit 9
      "pb feat.qcow2 313 '\\011' && pb feat.qcow2 78 '\\002'",
      "pb rt0.qcow2 48 '\\000\\000\\000\\000\\000\\000\\000\\000'",
      "pb sn0.qcow2 60 '\\000\\000\\000\\001\\000\\000\\000\\000\\000\\000\\000\\000'",
      "pb l1far.qcow2 40 '\\000\\000\\000\\001\\000\\000\\000\\000'",
      "pb rtfar.qcow2 48 '\\000\\000\\000\\001\\000\\000\\000\\000'",
      "pb snfar.qcow2 60 '\\000\\000\\000\\001\\000\\000\\000\\001\\000\\000\\000\\000'",
      "pb l2far.qcow2 196608 '\\200\\000\\000\\001\\000\\000\\000\\000'",
      "pb l1big.qcow2 40 '\\020\\000\\000\\000\\000\\000\\000\\000'",
      "pb rtbig.qcow2 48 '\\377\\377\\377\\377\\377\\377\\000\\000'",
      "pb bfo.qcow2 8 '\\000\\000\\000\\000\\000\\002\\000\\000' && pb bfo.qcow2 19 '\\020'",
      "pb crypt.qcow2 35 '\\007'",
      "head -c 50 b.qcow2 > t50.qcow2 && head -c 200000 b.qcow2 > t200k.qcow2",
    ].join(" && "),
    cmds: [
      ["info", "v4.qcow2"],
      ["map", "v4.qcow2"],
      ["info", "inc.qcow2"],
      ["info", "feat.qcow2"],
      ["map", "--output=json", "rt0.qcow2"],
      ["info", "sn0.qcow2"],
      ["convert", "-O", "raw", "l1far.qcow2", "o1"],
      ["map", "rtfar.qcow2"],
      ["info", "snfar.qcow2"],
      ["convert", "-O", "qcow2", "l2far.qcow2", "o2"],
      ["map", "l1big.qcow2"],
      ["info", "rtbig.qcow2"],
      ["info", "bfo.qcow2"],
      ["info", "crypt.qcow2"],
      ["info", "t50.qcow2"],
      ["convert", "-O", "raw", "t200k.qcow2", "o3"],
      ["map", "--output=json", "t200k.qcow2"],
    ],
  },
  {
    name: "qcow2 preallocation=falloc/full lays the file out as qemu's truncate (new refcount area, data in one run, L2 tables after)",
    setup: [
      "qemu-img create -q -f qcow2 r.qcow2 1000000 && qemu-io -c 'write -P 7 999000 1000' r.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 -o cluster_size=4k s.qcow2 3M && qemu-io -c 'write -P 7 0 1M' s.qcow2 >/dev/null",
    ].join(" && "),
    cmds: [
      ["create", "-q", "-f", "qcow2", "-o", "preallocation=falloc", "n0", "0"],
      ["check", "n0"],
      ["create", "-q", "-f", "qcow2", "-o", "preallocation=falloc,cluster_size=4k", "n1", "10M"],
      ["map", "--output=json", "n1"],
      [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        "preallocation=full,cluster_size=512,refcount_bits=1",
        "n2",
        "3M",
      ],
      ["map", "--output=json", "n2"],
      // (Not map after falloc: whether qemu reports the fallocated clusters as zero follows
      // the page cache of the file's unwritten extents.)
      ["resize", "--preallocation=falloc", "r.qcow2", "2M"],
      ["check", "r.qcow2"],
      ["resize", "--preallocation=full", "s.qcow2", "20M"],
      ["map", "--output=json", "s.qcow2"],
      ["check", "s.qcow2"],
    ],
  },
  {
    name: "create -o encrypt.*: LUKS option values are checked (QAPI visitor) before the key secret and the other create checks",
    setup: "",
    cmds: [
      [
        "create",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=luks,encrypt.cipher-alg=bogus,encrypt.cipher-mode=ctr",
        "a",
        "1M",
      ],
      [
        "create",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=luks,encrypt.hash-alg=x,preallocation=bogus",
        "a",
        "1M",
      ],
      ["create", "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.ivgen-alg=x,compat=bogus", "a", "1M"],
    ],
  },
  {
    name: "qcow2 corruption events (unaligned L2 table / cluster offsets): qemu's notice once per image, then each command's own EIO error (map prints what it had, convert stops at block status, compare's allocation test, dd, rebase marks the image corrupt)",
    setup: [
      'pb() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }',
      "qemu-img create -q -f qcow2 b.qcow2 4M && qemu-io -c 'write -P 1 0 1M' -c 'write -P 3 3M 64k' -c 'write -c -P 2 2M 64k' b.qcow2 >/dev/null",
      // L1 at 0x30000, L2 at 0x40000: guest cluster 5 at 0x90200, L2 table at 0x40200
      "cp b.qcow2 m.qcow2 && pb m.qcow2 262190 '\\002'",
      "cp m.qcow2 m2.qcow2 && cp m.qcow2 m3.qcow2 && cp m.qcow2 m4.qcow2",
      "cp b.qcow2 l1.qcow2 && pb l1.qcow2 196614 '\\002'",
      // the compressed cluster's descriptor points far past the end of the file
      "cp b.qcow2 c.qcow2 && pb c.qcow2 262400 '\\100\\000\\020'",
    ].join(" && "),
    cmds: [
      ["map", "m.qcow2"],
      ["map", "--output=json", "--start-offset=64k", "m.qcow2"],
      ["map", "--output=json", "l1.qcow2"],
      ["convert", "-O", "qcow2", "m.qcow2", "o1"],
      ["convert", "-O", "raw", "b.qcow2", "m.qcow2", "o2"],
      ["compare", "b.qcow2", "m.qcow2"],
      ["compare", "-s", "l1.qcow2", "b.qcow2"],
      ["dd", "if=m.qcow2", "of=o3", "bs=64k"],
      // (Not convert: how much qemu's parallel requests write before the failing read varies.)
      ["dd", "if=c.qcow2", "of=o4", "bs=64k"],
      ["compare", "c.qcow2", "b.qcow2"],
      ["rebase", "-b", "", "m2.qcow2"],
      ["info", "m2.qcow2"],
      ["commit", "m3.qcow2"],
    ],
  },
  {
    name: "lazy refcounts: allocating a data cluster makes qemu rewrite the whole header cluster when it closes the image (dirty, then clean); compressed writes do not",
    setup: [
      "qemu-img create -q -f qcow2 -o lazy_refcounts=on l.qcow2 4M && qemu-io -c 'write -P 1 0 64k' l.qcow2 >/dev/null",
      "cp l.qcow2 l2.qcow2 && cp l.qcow2 l3.qcow2",
      "qemu-img create -q -f qcow2 -b l.qcow2 -F qcow2 -o lazy_refcounts=on c.qcow2 && qemu-io -c 'write -P 2 64k 64k' c.qcow2 >/dev/null",
      "cp c.qcow2 c2.qcow2",
      "qemu-img create -q -f raw r.raw 4M && qemu-io -f raw -c 'write -P 3 1M 64k' r.raw >/dev/null",
    ].join(" && "),
    cmds: [
      ["convert", "-n", "-O", "qcow2", "r.raw", "l2.qcow2"],
      ["convert", "-c", "-n", "-O", "qcow2", "r.raw", "l3.qcow2"],
      ["commit", "c.qcow2"],
      // (fails at the end, no -F: the data copied before stays)
      ["rebase", "-b", "r.raw", "c2.qcow2"],
    ],
  },
  {
    name: "qcow create past 2^53 (qemu keeps the L1 size in an int: only the header is written); vmdk descriptors without extents (size 0 flat/split) open; vmdk's own option checks come before the file's preallocation",
    setup:
      "qemu-img create -q -f vmdk -o subformat=monolithicFlat f.vmdk 0 && qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse s.vmdk 0",
    cmds: [
      ["create", "-f", "qcow", "a.qcow", "9223372036854775807"],
      ["info", "a.qcow"],
      ["create", "-f", "qcow", "b.qcow", "1E"],
      ["check", "f.vmdk"],
      ["map", "--output=json", "s.vmdk"],
      ["measure", "-O", "qcow2", "f.vmdk"],
      ["dd", "if=s.vmdk", "of=o"],
      ["resize", "f.vmdk", "1M"],
      [
        "create",
        "-f",
        "vmdk",
        "-o",
        "subformat=twoGbMaxExtentFlat,zeroed_grain=on,preallocation=bogus",
        "v1",
        "4M",
      ],
      ["create", "-f", "vmdk", "-o", "compat6=on,hwversion=7,preallocation=bogus", "v2", "4M"],
    ],
  },
  {
    name: "convert into a target that does not read zeros (-B, -n): zero runs end on the source's status granularity and cluster alignment, so partial target clusters are written as qemu writes them (explicit zeros where the backing shows through)",
    setup: [
      "qemu-img create -q -f raw -o preallocation=full b.img 4M",
      "qemu-img create -q -f qcow2 -o cluster_size=4k a.qcow2 1000000",
      "qemu-img create -q -f qcow q.qcow 3000000 && qemu-io -f qcow -c 'write -P 1 1M 4k' q.qcow >/dev/null",
      "qemu-img create -q -f qcow2 -o cluster_size=512 s.qcow2 3000000 && qemu-io -c 'write -P 1 1M 4k' s.qcow2 >/dev/null",
      "qemu-img create -q -f qcow2 t.qcow2 3000320 && qemu-io -c 'write -P 7 0 3000320' t.qcow2 >/dev/null",
    ].join(" && "),
    cmds: [
      ["convert", "-O", "qcow2", "-B", "b.img", "-F", "raw", "a.qcow2", "o1"],
      ["map", "--output=json", "o1"],
      ["convert", "-O", "qcow2", "-B", "b.img", "-F", "raw", "q.qcow", "o2"],
      ["map", "--output=json", "o2"],
      ["convert", "-O", "qcow2", "-B", "b.img", "-F", "raw", "s.qcow2", "o3"],
      ["map", "--output=json", "o3"],
      ["convert", "-n", "-O", "qcow2", "q.qcow", "t.qcow2"],
      ["map", "--output=json", "t.qcow2"],
    ],
  },
  {
    name: "size options from 2^63 up print as negative numbers in the Formatting line; an extent_size_hint past 32 bits is the file protocol's refusal (create and convert, after vmdk's own checks)",
    setup: "qemu-img create -q -f raw r 1M",
    cmds: [
      ["create", "-f", "qcow2", "-o", "cluster_size=18446744073709551615", "a", "1M"],
      ["create", "-f", "qcow2", "-o", "cluster_size=9223372036854775808", "a", "1M"],
      ["create", "-f", "vmdk", "-o", "extent_size_hint=18446744073709551615", "b", "1M"],
      ["create", "-f", "qcow2", "-o", "extent_size_hint=4294967296", "c", "1M"],
      ["convert", "-O", "qcow2", "-o", "extent_size_hint=5G", "r", "o1"],
      ["convert", "-O", "vmdk", "-o", "extent_size_hint=5G,subformat=bogus", "r", "o2"],
    ],
  },
  {
    name: "rebase onto the image itself: opened as raw (-F raw) it shares write permission and the rebase goes on; as qcow2 qemu's lock refuses it (random seed 20502)",
    setup:
      "qemu-img create -q -f qcow2 -o extended_l2=on,preallocation=metadata base.qcow2 5M && qemu-io -f qcow2 -c 'write -P 0x11 5169345 73535' base.qcow2 >/dev/null && cp base.qcow2 b2.qcow2",
    cmds: [
      ["rebase", "-b", "b2.qcow2", "-F", "qcow2", "b2.qcow2"],
      ["rebase", "-b", "b2.qcow2", "b2.qcow2"],
      ["rebase", "-p", "-b", "base.qcow2", "-F", "raw", "base.qcow2"],
      ["info", "base.qcow2"],
    ],
  },
  {
    name: "zstd compression: compressed clusters read (info, map, check, convert, compare, dd) and written (convert -c into compression_type=zstd, incompressible clusters stored raw) as qemu's libzstd writes them",
    zstd: true,
    setup: [
      "qemu-img create -q -f qcow2 -o compression_type=zstd z.qcow2 1M",
      "qemu-io -f qcow2 -c 'write -c -P 0x11 0 64k' -c 'write -P 0x22 64k 64k' -c 'write -c -P 0x33 192k 64k' z.qcow2 >/dev/null",
      "head -c 300000 /dev/urandom > r.raw && truncate -s 500000 r.raw && qemu-io -f raw -c 'write -P 5 300000 100000' r.raw >/dev/null",
      "qemu-img convert -c -O qcow2 -o compression_type=zstd,cluster_size=4k r.raw z4.qcow2",
    ].join(" && "),
    cmds: [
      ["info", "--output=json", "z.qcow2"],
      ["map", "--output=json", "z.qcow2"],
      ["check", "z4.qcow2"],
      ["convert", "-O", "raw", "z.qcow2", "o1.raw"],
      ["compare", "-s", "z4.qcow2", "r.raw"],
      ["dd", "-O", "raw", "bs=4k", "if=z4.qcow2", "of=o2.raw"],
      ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", "r.raw", "o3.qcow2"],
      ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd,cluster_size=16k", "z.qcow2", "o4.qcow2"],
      ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd,cluster_size=512", "r.raw", "o5.qcow2"],
      ["amend", "-o", "compat=0.10", "z4.qcow2"],
    ],
    bytes: true,
  },
  {
    name: "zstd: a damaged compressed cluster is an I/O error for convert and compare",
    zstd: true,
    setup: [
      "qemu-img create -q -f qcow2 -o compression_type=zstd,cluster_size=4k z.qcow2 64k",
      "qemu-io -f qcow2 -c 'write -c -P 0x11 0 4k' -c 'write -c -P 0x22 4k 4k' z.qcow2 >/dev/null",
      "printf '\\000\\000\\000' | dd of=z.qcow2 bs=1 seek=20481 conv=notrunc 2>/dev/null",
    ].join(" && "),
    cmds: [
      ["convert", "-O", "raw", "z.qcow2", "o.raw"],
      ["compare", "z.qcow2", "z.qcow2"],
    ],
  },
];

let base = "";
before(async () => {
  if (HAVE_QEMU) base = await mkdtemp(join(tmpdir(), "tsvirt-img-hand-"));
});
after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

CASES.forEach((c, i) => {
  test(c.name, async (t) => {
    if (!HAVE_QEMU) return t.skip("qemu-img is not installed");
    if (c.zstd && !zstdAvailable()) return t.skip("no zstd: the native addon or libzstd is missing");
    assert.deepEqual(await runDiffCase(base, c, i), []);
  });
});
