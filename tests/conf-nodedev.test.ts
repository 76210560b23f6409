// Node devices: the devices libvirt 9.0's test driver ships must round-trip byte for byte (read
// live through python-libvirt); hand-written documents in the shape libvirt prints (tests/data/
// nodedev-xml2xml) must be fixed points and validate against nodedev.rng; bounded fuzz.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { formatNodeDeviceXML, parseNodeDeviceXML } from "../src/conf/nodedev/index.js";
import { xmllintBatch } from "./conf-corpus-helpers.js";
import { fuzzParser } from "./conf-fuzz-helpers.js";

const dir = join(import.meta.dirname, "data", "nodedev-xml2xml");
const docs = readdirSync(dir)
  .filter((f) => f.endsWith(".xml"))
  .sort()
  .map((f) => ({ name: f, xml: readFileSync(join(dir, f), "utf8") }));
const run = (x: string) => formatNodeDeviceXML(parseNodeDeviceXML(x));

function testDriverDevices(): string[] | undefined {
  try {
    const out = execFileSync(
      "/usr/bin/python3",
      [
        "-c",
        "import libvirt,json\nc=libvirt.open('test:///default')\nprint(json.dumps([c.nodeDeviceLookupByName(n).XMLDesc() for n in c.listDevices(None,0)]))",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    return JSON.parse(out) as string[];
  } catch {
    return undefined;
  }
}

test("test-driver node devices round-trip byte for byte", (t) => {
  const devs = testDriverDevices();
  if (!devs) return t.skip("python-libvirt not available");
  assert.ok(devs.length >= 4);
  for (const d of devs) assert.equal(run(d), d);
});

test("node device corpus is a fixed point and validates against nodedev.rng", (t) => {
  for (const d of docs) assert.equal(run(d.xml), d.xml, d.name);
  // vhba-create is the creation request libvirt documents (no <host> yet), which nodedev.rng rejects.
  const res = xmllintBatch(
    "nodedev",
    docs.filter((d) => d.name !== "vhba-create.xml").map((d) => run(d.xml)),
  );
  if (res === null) return t.skip("xmllint or schema missing");
  assert.equal(res, undefined, res ?? "");
});

test("node device errors carry libvirt's codes", () => {
  assert.throws(() => parseNodeDeviceXML("<device><name>x</name></device>"), { code: 1, domain: 22 });
  assert.throws(() => parseNodeDeviceXML("<device><capability type='pci'/></device>"), {
    message: "internal error: no domain supplied for 'new device'",
  });
  assert.throws(() => parseNodeDeviceXML("<dev/>"), { code: 27 });
});

test("node device parser fuzz: only VirError escapes", () => {
  fuzzParser(
    docs.map((d) => d.xml),
    run,
    300,
  );
});
