import assert from "node:assert/strict";
import { test } from "node:test";
import { assignBridgeMac, assignBridgeName, formatNetworkXML, parseNetworkXML } from "./index.js";

const uuid = "81ff0d90-c91e-6742-64da-4a736edb9aff";

test("bridge name: lowest free virbrN, %d templates, untouched when set or not bridge-owning", () => {
  const d = parseNetworkXML(`<network><name>a</name><uuid>${uuid}</uuid></network>`);
  assert.equal(assignBridgeName(d, new Set(["virbr0", "virbr1"])), "virbr2");
  const t = parseNetworkXML(`<network><name>b</name><uuid>${uuid}</uuid><bridge name='lab%d'/></network>`);
  assert.equal(assignBridgeName(t, new Set(["lab0"])), "lab1");
  const s = parseNetworkXML(`<network><name>c</name><uuid>${uuid}</uuid><bridge name='br7'/></network>`);
  assert.equal(assignBridgeName(s, new Set()), "br7");
  const m = parseNetworkXML(
    `<network><name>d</name><uuid>${uuid}</uuid><forward mode='bridge'/><bridge name='br0'/></network>`,
  );
  assert.equal(assignBridgeName(m, new Set(["br0"])), "br0");
});

test("bridge MAC is added once, under 52:54:00, and formatted after <bridge>", () => {
  const d = parseNetworkXML(`<network><name>a</name><uuid>${uuid}</uuid></network>`);
  assignBridgeName(d, new Set());
  assignBridgeMac(d, () => "52:54:00:0a:0b:0c");
  assignBridgeMac(d, () => "52:54:00:ff:ff:ff");
  assert.equal(
    formatNetworkXML(d),
    `<network>\n  <name>a</name>\n  <uuid>${uuid}</uuid>\n  <bridge name='virbr0' stp='on' delay='0'/>\n  <mac address='52:54:00:0a:0b:0c'/>\n</network>\n`,
  );
});
