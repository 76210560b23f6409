// Differential check of the argv builder against real libvirt 9.0: each case's
// <case>.libvirt-args is `virsh domxml-to-native qemu-argv` from a private libvirtd (recorded by
// scripts/oracle/qemu-libvirt-argv.ts). After normalising what differs by design (libvirt's
// secret/memory-backend objects, socket paths, tap fds), the option lists — PCI placement (bus,
// addr, root ports) and USB ports included — must be identical except for the cases in KNOWN_DIFFERENT.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CASE_DIR, listCases, runCase } from "./guest/xml2argv-cases.js";

/** Splits a shell command line as virsh prints it (single quotes, no escapes inside). */
function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inQ = false;
  let has = false;
  for (const ch of s.trim()) {
    if (inQ) {
      if (ch === "'") inQ = false;
      else cur += ch;
    } else if (ch === "'") {
      inQ = true;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = "";
      has = false;
    } else cur += ch;
  }
  if (has || cur) out.push(cur);
  return out;
}

function pairs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const n = argv[i + 1];
    if (a.startsWith("-") && n !== undefined && !n.startsWith("-")) {
      out.push(`${a} ${n}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function normalise(opts: string[], variableClock = false): string[] {
  const out: string[] = [];
  for (let o of opts) {
    if (/^-object \{"qom-type":"secret"/.test(o)) continue;
    // libvirt always gives the RAM a backend object; a plain one changes nothing, so we leave it
    // out. One with settings (prealloc, host-nodes, …) is compared.
    if (/^-object \{"qom-type":"memory-backend-ram","id":"[^"]*","size":\d+\}$/.test(o)) continue;
    if (/^-pidfile /.test(o) || /^-mon /.test(o)) continue;
    if (/^-chardev socket,id=charmonitor,/.test(o)) continue;
    o = o.replace(",memory-backend=pc.ram", "");
    o = o.replace(/path=[^,]*\/channel\/target\/[^,/]*\//, "path=CHANNELDIR/");
    // file-backed RAM: a file per backend in the domain's memory directory
    o = o.replace(/"mem-path":"[^"]*\/([^/"]+)"/, '"mem-path":"RAMDIR/$1"');
    if (o.startsWith("-netdev ")) o = `-netdev ${JSON.parse(o.slice(8)).id}`;
    // the SPICE port comes from the daemon's port pool (libvirt's peer leaks ports across conversions)
    o = o.replace(/^-spice port=\d+,/, "-spice port=PORT,");
    // <clock offset='variable'>: the base is the time of the conversion plus the adjustment
    // (the goldens fix the start time, so <case>.args checks the arithmetic)
    if (variableClock)
      o = o.replace(/^-rtc base=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, "-rtc base=START+ADJUSTMENT");
    out.push(o);
  }
  return out;
}

/** The only cases allowed to differ from libvirt, and why (everything else must be identical). */
const KNOWN_DIFFERENT: Record<string, string> = {
  "err-kvm-unavailable": "libvirt would start a KVM guest on a /dev/kvm that hangs; we probe and refuse",
  "boot-order-mixed": "domxml-to-native rewrites NICs as type ethernet and drops their <boot order>",
};

test("argv matches libvirt 9.0 after normalisation", (t) => {
  const names = listCases().filter((n) => existsSync(join(CASE_DIR, `${n}.libvirt-args`)));
  if (names.length === 0) return t.skip("no libvirt recordings (scripts/oracle/qemu-libvirt-argv.ts)");
  const same: string[] = [];
  const diffs: string[] = [];
  for (const name of names) {
    const r = runCase(name);
    if (r.kind !== "args") {
      diffs.push(`${name}: libvirt builds an argv, we refuse: ${r.text.trim()}`);
      continue;
    }
    const lv = shellSplit(readFileSync(join(CASE_DIR, `${name}.libvirt-args`), "utf8"));
    const bin = lv.findIndex((x) => x.startsWith("/usr/bin/qemu-system"));
    const variable = /<clock offset='variable'|<clock [^>]*adjustment='[+-]?\d/.test(
      readFileSync(join(CASE_DIR, `${name}.xml`), "utf8"),
    );
    const theirs = normalise(pairs(lv.slice(bin + 1)), variable);
    const ours = normalise(pairs(r.argv.slice(1)), variable);
    if (JSON.stringify(theirs) === JSON.stringify(ours)) same.push(name);
    else {
      const a = theirs.filter((x) => !ours.includes(x));
      const b = ours.filter((x) => !theirs.includes(x));
      diffs.push(`${name}: libvirt only [${a.join(" | ")}] ours only [${b.join(" | ")}]`);
    }
  }
  t.diagnostic(`${same.length}/${names.length} cases identical to libvirt after normalisation`);
  for (const d of diffs) t.diagnostic(d);
  const unexpected = names.filter((n) => !same.includes(n) && !(n in KNOWN_DIFFERENT));
  assert.deepEqual(unexpected, [], "cases that differ from libvirt without a known reason");
  assert.ok(same.length >= names.length - Object.keys(KNOWN_DIFFERENT).length);
});

test("both refuse: error cases libvirt also rejects", (t) => {
  const errs = listCases().filter((n) => existsSync(join(CASE_DIR, `${n}.libvirt-err`)));
  if (errs.length === 0) return t.skip("no libvirt recordings");
  for (const name of errs) assert.equal(runCase(name).kind, "err", `${name}: libvirt refuses, we must too`);
});
