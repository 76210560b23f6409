// `virsh domxml-to-native qemu-argv` against libvirtd 9.0's: every xml2argv case's
// <case>.libvirt-args is what a private libvirtd printed (scripts/oracle/qemu-libvirt-argv.ts).
// Only what differs between runs is normalised: the daemon's PATH, the tap file descriptor numbers
// and the SPICE port (libvirt's peer leaks ports between conversions).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseDomainXML } from "../src/conf/domain/index.js";
import { qemuPostParse, xmlNamesArch } from "../src/drivers/qemu/domain-post-parse.js";
import { domainXMLToNative } from "../src/drivers/qemu/domain-xml-to-native.js";
import { haveVirsh, RootDaemon, virsh } from "./guest/root-daemon.js";
import { CASE_DIR, listCases, loadCaps } from "./guest/xml2argv-cases.js";

/** Cases where the argv builder knowingly differs from libvirt (see qemu-xml2argv-libvirt.test.ts). */
const KNOWN_DIFFERENT: Record<string, string> = {};

function normalise(s: string): string {
  return s
    .trim()
    .replace(/PATH=\S+/, "PATH=X")
    .replace(/"fd":"\d+"/g, '"fd":"N"')
    .replace(/-spice port=\d+/, "-spice port=P");
}

const recorded = listCases().filter((n) => existsSync(join(CASE_DIR, `${n}.libvirt-args`)));

test("domxml-to-native output equals libvirtd 9.0's (in-process)", (t) => {
  const diffs: string[] = [];
  for (const name of recorded) {
    const xml = readFileSync(join(CASE_DIR, `${name}.xml`), "utf8");
    const caps = loadCaps(name);
    let got: string;
    try {
      const def = parseDomainXML(xml, { noIfnames: true });
      qemuPostParse(def, caps, xmlNamesArch(xml));
      got = domainXMLToNative(def, caps, "qemu-argv");
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    // <clock offset='variable'>: the base is the time of the conversion plus the adjustment
    const atStart = (x: string) =>
      /<clock offset='variable'|<clock [^>]*adjustment='[+-]?\d/.test(xml)
        ? x.replace(/-rtc base=[\dT:-]+/, "-rtc base=T")
        : x;
    const want = atStart(normalise(readFileSync(join(CASE_DIR, `${name}.libvirt-args`), "utf8")));
    got = atStart(got);
    if (normalise(got) === want) continue;
    const a = want.split(" ");
    const b = normalise(got).split(" ");
    const i = a.findIndex((x, k) => x !== b[k]);
    diffs.push(`${name}: word ${i}: libvirt ${a[i]} ours ${b[i]}`);
  }
  t.diagnostic(`${recorded.length - diffs.length}/${recorded.length} identical to libvirtd 9.0`);
  for (const d of diffs) t.diagnostic(d);
  assert.ok(recorded.length >= 40);
  const unexpected = diffs.filter((d) => !(d.split(":")[0]! in KNOWN_DIFFERENT));
  assert.deepEqual(unexpected, []);
});

/** The built tsvirsh, as a user runs it. */
const TSVIRSH = join(import.meta.dirname, "../dist/bin/tsvirsh.js");
let daemon: RootDaemon | undefined;
after(() => {
  if (!daemon) return;
  daemon.killAll();
  rmSync(daemon.root, { recursive: true, force: true });
});

test("virsh domxml-to-native through tsvirtd: libvirt's output and errors", {
  skip: haveVirsh() ? false : "virsh not installed",
  timeout: 120_000,
}, async () => {
  daemon = new RootDaemon(mkdtempSync(join(tmpdir(), "tsvirtd-x2n-")));
  await daemon.start();
  for (const name of ["minimal-q35", "virt-install-q35-spice", "numa-distances", "net-user"]) {
    const r = await virsh(daemon.uri, ["domxml-to-native", "qemu-argv", join(CASE_DIR, `${name}.xml`)]);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
    const want = normalise(readFileSync(join(CASE_DIR, `${name}.libvirt-args`), "utf8"));
    assert.equal(normalise(r.out), want, name);
  }
  const bad = await virsh(daemon.uri, ["domxml-to-native", "foo", join(CASE_DIR, "minimal-pc.xml")]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /error: invalid argument: unsupported config type foo/);

  // tsvirsh through the same daemon prints what virsh prints (the argv of a file, of a defined
  // domain by --domain), and the same errors (bad format, read-only, from-native unsupported).
  const file = join(CASE_DIR, "minimal-pc.xml");
  const tsvirsh = (args: string[]) =>
    new Promise<{ out: string; err: string; code: number }>((resolve) => {
      execFile(
        process.execPath,
        [TSVIRSH, ...args],
        { env: { ...process.env, LC_ALL: "C" } },
        (e, out, err) => resolve({ out, err, code: e ? ((e as { code?: number }).code ?? 1) : 0 }),
      );
    });
  // a UUID is generated for a definition without one: compared as <uuid>
  const uuids = (s: string) =>
    s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>");
  const lines: string[][] = [
    ["-c", daemon.uri, "domxml-to-native", "qemu-argv", file],
    ["-c", daemon.uri, `define ${file}; domxml-to-native qemu-argv --domain minimal-pc; undefine minimal-pc`],
    ["-c", daemon.uri, "domxml-to-native", "foo", file],
    ["-r", "-c", daemon.uri, "domxml-to-native", "qemu-argv", file],
    ["-c", daemon.uri, "domxml-from-native", "qemu-argv", file],
    ["-c", daemon.uri, "domxml-to-native", "qemu-argv"],
  ];
  for (const args of lines) {
    const want = await new Promise<{ out: string; err: string; code: number }>((resolve) => {
      execFile("virsh", args, { env: { ...process.env, LC_ALL: "C" } }, (e, out, err) =>
        resolve({ out, err, code: e ? ((e as { code?: number }).code ?? 1) : 0 }),
      );
    });
    const got = await tsvirsh(args);
    assert.deepEqual({ ...got, out: uuids(got.out) }, { ...want, out: uuids(want.out) }, args.join(" "));
  }
});
