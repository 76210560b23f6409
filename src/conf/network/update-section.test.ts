// Unit tests for the shared virNetworkDefUpdateSection pieces: element check, <ip> choice, entry parsing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIp } from "./ip-addr.js";
import { parseNetworkXML } from "./parse.js";
import { checkUpdateElement, parseInDhcpIp, updateIpIndex } from "./update-section.js";

const def = parseNetworkXML(
  "<network><name>n1</name><ip family='ipv6' address='fd00::1' prefix='64'/><ip address='10.0.0.1' netmask='255.255.255.0'/></network>",
);
const v4 = (ip: (typeof def.ips)[number]) => ip.address.family === 4;

test("checkUpdateElement names the element it wanted", () => {
  checkUpdateElement("<host mac='52:54:00:00:00:01'/>", "host", "n1");
  assert.throws(
    () => checkUpdateElement("<range/>", "host", "n1"),
    /unexpected element <range>, expecting <host>, while updating network 'n1'/,
  );
});

test("updateIpIndex takes the given index or the first IPv4 <ip>", () => {
  assert.equal(updateIpIndex(def, -1, "dhcp host", v4), 1);
  assert.equal(updateIpIndex(def, 0, "dhcp host", v4), 0);
  assert.throws(
    () => updateIpIndex(def, 5, "dhcp range", v4),
    /no <ip> element found at index 5 in network 'n1'/,
  );
  assert.throws(
    () => updateIpIndex(def, -1, "dhcp range", () => false),
    /no <ip> element found in network 'n1'/,
  );
});

test("parseInDhcpIp parses an entry inside a copy of its <ip>", () => {
  const ip = parseInDhcpIp(def, 1, "<range start='10.0.0.10' end='10.0.0.20'/>");
  assert.equal(formatIp(ip.dhcpRanges[0]!.start), "10.0.0.10");
  assert.equal(def.ips[1]!.dhcpRanges.length, 0, "the definition itself is untouched");
});
