// Unit tests of the domain definition API beyond the differential corpus: generated identity
// (UUID, MAC, test driver interface names), running/inactive/secure formatting, deep copies,
// libxml2-identical syntax errors (texts observed from libvirt 9.0), and a bounded fuzz run
// proving that only VirError escapes the parsers.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  chrSource,
  chrTarget,
  cloneDomainDef,
  cpuModel,
  diskFormat,
  diskHosts,
  diskSourcePath,
  featureEnabled,
  formatDomainXML,
  parseDomainXML,
} from "../src/conf/domain/index.js";
import { ErrorCode, ErrorDomain, VirError } from "../src/errors/index.js";
import { parseXml } from "../src/xml/index.js";

const MIN = "<domain type='test'><name>t</name><memory>1024</memory><os><type>hvm</type></os>";

test("a missing UUID is generated (version 4, lowercase)", () => {
  const a = parseDomainXML(`${MIN}</domain>`);
  const b = parseDomainXML(`${MIN}</domain>`);
  assert.match(a.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a.uuid, b.uuid);
});

test("interfaces get 52:54:00 MACs and the test driver's testnetN names", () => {
  const def = parseDomainXML(
    `${MIN}<devices><interface type='user'/><interface type='network'><source network='default'/>` +
      "<target dev='testnet0'/></interface><interface type='user'/></devices></domain>",
  );
  const [a, b, c] = def.devices.interfaces;
  assert.match(a!.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.equal(a!.target, "testnet1");
  assert.equal(b!.target, "testnet0");
  assert.equal(c!.target, "testnet2");
  const noNames = parseDomainXML(`${MIN}<devices><interface type='user'/></devices></domain>`, {
    noIfnames: true,
  });
  assert.equal(noNames.devices.interfaces[0]!.target, undefined);
});

test("format: id only for a running domain, passwords only with securityInfo", () => {
  const def = parseDomainXML(`${MIN}<devices><graphics type='vnc' passwd='pw'/></devices></domain>`);
  assert.match(formatDomainXML(def, { id: 3 }), /^<domain type='test' id='3'>\n/);
  assert.match(formatDomainXML(def, { id: 3, inactive: true }), /^<domain type='test'>\n/);
  assert.doesNotMatch(formatDomainXML(def), /passwd/);
  assert.match(formatDomainXML(def, { securityInfo: true }), /passwd='pw'/);
});

test("cloneDomainDef is deep", () => {
  const def = parseDomainXML(
    `${MIN}<devices><disk type='file'><source file='/a'/><target dev='vda'/></disk></devices></domain>`,
  );
  const copy = cloneDomainDef(def);
  copy.name = "other";
  copy.devices.disks[0]!.target.dev = "vdb";
  copy.devices.disks.push(structuredClone(copy.devices.disks[0]!));
  assert.equal(def.name, "t");
  assert.equal(def.devices.disks.length, 1);
  assert.equal(def.devices.disks[0]!.target.dev, "vda");
  assert.equal(formatDomainXML(parseDomainXML(formatDomainXML(def))), formatDomainXML(def));
});

/** [input, libvirt 9.0's message] pairs observed with python-libvirt on test:///default. */
const SYNTAX: [string, string][] = [
  [
    "<domain><name>x</domain>",
    "(domain_definition):1: Opening and ending tag mismatch: name line 1 and domain\n<domain><name>x</domain>\n------------------------^",
  ],
  ["<domain type='test'>\n", "(domain_definition):2: Premature end of data in tag domain line 1\n(null)\n^"],
  ["", "(domain_definition):1: Document is empty\n(null)\n^"],
  ["hello", "(domain_definition):1: Start tag expected, '<' not found\nhello\n^"],
  [
    "<domain type='test'",
    "(domain_definition):1: attributes construct error\n<domain type='test'\n-------------------^",
  ],
  [
    "<domain type='test'><name>&#0;</name></domain>",
    "(domain_definition):1: xmlParseCharRef: invalid xmlChar value 0\n<domain type='test'><name>&#0;</name></domain>\n------------------------------^",
  ],
  [
    "<domain type='test'><name>x<!--a--b--></name></domain>",
    "(domain_definition):1: Double hyphen within comment: <!--a\n<domain type='test'><name>x<!--a--b--></name></domain>\n--------------------------------^",
  ],
  [
    " <?xml version='1.0'?><domain/>",
    "(domain_definition):1: XML declaration allowed only at the start of the document\n <?xml version='1.0'?><domain/>\n------^",
  ],
  [
    "<domain checked><name>x</name></domain>",
    "(domain_definition):1: Specification mandates value for attribute checked\n<domain checked><name>x</name></domain>\n---------------^",
  ],
];

test("malformed XML fails with libxml2's message, code XML_DETAIL, domain DOMAIN", () => {
  for (const [xml, message] of SYNTAX) {
    assert.throws(
      () => parseDomainXML(xml),
      (e: unknown) => {
        assert.ok(e instanceof VirError);
        assert.equal(e.code, ErrorCode.XML_DETAIL);
        assert.equal(e.domain, ErrorDomain.DOMAIN);
        assert.equal(e.message, message);
        return true;
      },
    );
  }
});

test("XML parser: entities from an internal subset, CDATA, attribute whitespace normalisation", () => {
  const root = parseXml("<!DOCTYPE d [<!ENTITY n 'zz'>]><d a='x\ty'><n>&n;<![CDATA[<raw>]]></n></d>");
  assert.deepEqual(root.attrs, [["a", "x y"]]);
  const n = root.children[0]!;
  assert.ok(n.kind === "element");
  assert.deepEqual(
    n.children.map((c) => (c.kind === "text" ? c.text : "")),
    ["zz", "<raw>"],
  );
});

test("deep nesting is refused at libxml2's limit, without recursion", () => {
  const deep = `<d>${"<a>".repeat(100000)}${"</a>".repeat(100000)}</d>`;
  assert.throws(() => parseXml(deep), /Excessive depth in document: 256/);
});

/** Small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("fuzz: random and mutated documents only ever raise VirError", () => {
  const dir = join(import.meta.dirname, "data", "domain-xml2xml");
  const seeds = readdirSync(dir)
    .filter((f) => f.endsWith(".xml") && !f.endsWith(".out.xml"))
    .map((f) => readFileSync(join(dir, f), "utf8"));
  const rand = rng(12345);
  const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;
  const alphabet = [
    "<",
    ">",
    "/",
    "'",
    '"',
    "=",
    "&",
    ";",
    "#",
    "x",
    " ",
    "\n",
    "!",
    "-",
    "?",
    "[",
    "]",
    "é",
    "\u0001",
  ];
  const deadline = Date.now() + 3000;
  let runs = 0;
  while (Date.now() < deadline) {
    let doc = pick(seeds);
    const ops = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < ops; i++) {
      const at = Math.floor(rand() * (doc.length + 1));
      const kind = rand();
      if (kind < 0.3) doc = doc.slice(0, at) + pick(alphabet) + doc.slice(at);
      else if (kind < 0.55) doc = doc.slice(0, at) + doc.slice(at + 1 + Math.floor(rand() * 8));
      else if (kind < 0.7) doc = doc.slice(0, at);
      else if (kind < 0.85) {
        const from = Math.floor(rand() * doc.length);
        doc = doc.slice(0, at) + doc.slice(from, from + Math.floor(rand() * 60)) + doc.slice(at);
      } else doc = doc.replace(/'[^']*'/, `'${pick(["", "-1", "0x", "99999999999999999999", "a b", "é"])}'`);
    }
    if (rand() < 0.05) doc = Array.from({ length: 50 }, () => pick(alphabet)).join("");
    try {
      formatDomainXML(parseDomainXML(doc));
    } catch (e) {
      if (!(e instanceof VirError)) {
        assert.fail(`non-VirError ${String(e)} for document:\n${doc}`);
      }
    }
    runs++;
  }
  assert.ok(runs > 20, `only ${runs} fuzz runs`);
});

test("accessors read held parts: disk source/format, chardev target, features, cpu", () => {
  const def = parseDomainXML(
    `${MIN}<features><acpi/><smm state='off'/></features><cpu mode='custom'><model>Haswell</model></cpu>` +
      "<devices><disk type='network'><driver name='qemu' type='raw'/><source protocol='nbd' name='exp'>" +
      "<host name='h' port='10809'/></source><target dev='vda' bus='virtio'/></disk>" +
      "<serial type='file'><source path='/log'/></serial></devices></domain>",
  );
  const disk = def.devices.disks[0]!;
  assert.equal(diskSourcePath(disk), "exp");
  assert.equal(diskFormat(disk), "raw");
  assert.deepEqual(diskHosts(disk), [{ name: "h", port: "10809", transport: undefined, socket: undefined }]);
  assert.equal(chrTarget(def.devices.serials[0]!, "port"), "0");
  assert.equal(chrSource(def.devices.serials[0]!, "path"), "/log");
  assert.equal(featureEnabled(def, "acpi"), true);
  assert.equal(featureEnabled(def, "smm"), false);
  assert.equal(featureEnabled(def, "pae"), undefined);
  assert.deepEqual(cpuModel(def), { mode: "custom", model: "Haswell" });
});

test("a large document (2000 disks and NICs) parses and formats", { timeout: 60000 }, () => {
  const name = (i: number) => {
    let s = "";
    for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(97 + ((n - 1) % 26)) + s;
    return `vd${s}`;
  };
  let devs = "";
  for (let i = 0; i < 2000; i++) {
    devs += `<disk type='file'><source file='/d${i}'/><target dev='${name(i)}'/></disk><interface type='user'/>`;
  }
  const def = parseDomainXML(`${MIN}<devices>${devs}</devices></domain>`);
  assert.equal(def.devices.disks.length, 2000);
  assert.equal(def.devices.interfaces[1999]!.target, "testnet1999");
  assert.ok(formatDomainXML(def).length > 100000);
});
