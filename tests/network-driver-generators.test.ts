// Golden tests of the network driver's pure generators: network XML → dnsmasq conf, hosts and
// addn-hosts files (checked by `dnsmasq --test`), and → our nftables table (checked by
// `nft -c -f` inside a throwaway network namespace). UPDATE_GOLDEN=1 rewrites the files.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseNetworkXML } from "../src/conf/network/index.js";
import {
  dnsmasqFiles,
  nftApplyScript,
  nftRuleset,
  parseDnsmasqLeases,
} from "../src/drivers/network/index.js";

const DATA = join(import.meta.dirname, "data");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const RUN = "/run/tsvirt/network";

function golden(path: string, actual: string): void {
  if (UPDATE || !existsSync(path)) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, "utf8"), path);
}

const cases = (dir: string) =>
  readdirSync(join(DATA, dir))
    .filter((f) => f.endsWith(".xml"))
    .map((f) => f.slice(0, -4))
    .sort();

const paths = (name: string) => ({
  pidFile: `${RUN}/${name}.pid`,
  leaseFile: `${RUN}/${name}.leases`,
  hostsFile: `${RUN}/${name}.hostsfile`,
  addnHostsFile: `${RUN}/${name}.addnhosts`,
});

const haveDnsmasq = existsSync("/usr/sbin/dnsmasq");
const haveNft = existsSync("/usr/sbin/nft") && process.getuid?.() === 0;

for (const c of cases("network-dnsmasq")) {
  test(`dnsmasq conf: ${c}`, () => {
    const dir = join(DATA, "network-dnsmasq");
    const def = parseNetworkXML(readFileSync(join(dir, `${c}.xml`), "utf8"));
    const f = dnsmasqFiles(def, def.bridge.name!, paths(def.name));
    golden(join(dir, `${c}.conf`), f.conf);
    golden(join(dir, `${c}.hostsfile`), f.hosts);
    golden(join(dir, `${c}.addnhosts`), f.addnHosts);
    if (!haveDnsmasq) return;
    // dnsmasq's own syntax check, with the file paths pointed at a scratch dir.
    const tmp = mkdtempSync(join(tmpdir(), "tsvirt-dnsmasq-"));
    try {
      const conf = f.conf.replaceAll(RUN, tmp);
      writeFileSync(join(tmp, "c.conf"), conf);
      writeFileSync(join(tmp, `${def.name}.hostsfile`), f.hosts);
      writeFileSync(join(tmp, `${def.name}.addnhosts`), f.addnHosts);
      const r = spawnSync("/usr/sbin/dnsmasq", ["--test", `--conf-file=${join(tmp, "c.conf")}`], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /syntax check OK/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

function nftCheck(script: string): void {
  // A private network namespace: check mode never changes anything, and not even on the host.
  execFileSync("unshare", ["--net", "nft", "-c", "-f", "-"], {
    input: script,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

const nftDir = join(DATA, "network-nft");
const nftNets = cases("network-nft").map((c) => {
  const def = parseNetworkXML(readFileSync(join(nftDir, `${c}.xml`), "utf8"));
  return { c, net: { def, bridge: def.bridge.name! } };
});

for (const { c, net } of nftNets) {
  test(`nft ruleset: ${c}`, { skip: !haveNft && "needs nft and root" }, () => {
    const rs = nftRuleset([net]);
    golden(join(nftDir, `${c}.nft`), rs);
    if (net.def.forward.mode === "open") assert.equal(rs, "");
    else nftCheck(nftApplyScript(rs));
  });
}

test("nft ruleset: all networks in one table", { skip: !haveNft && "needs nft and root" }, () => {
  const rs = nftRuleset(nftNets.map((x) => x.net).reverse());
  golden(join(nftDir, "all.nft"), rs);
  nftCheck(nftApplyScript(rs));
  // libvirt's chain order: every network's FWX before any FWI before any FWO.
  assert.ok(rs.indexOf("chain fwx") < rs.indexOf("chain fwi"));
  assert.ok(rs.indexOf("chain fwi") < rs.indexOf("chain fwo"));
});

test("dnsmasq leases file parses v4 and v6 entries", () => {
  const text =
    "1700000000 52:54:00:aa:bb:cc 192.168.122.50 guest1 01:52:54:00:aa:bb:cc\n" +
    "0 52:54:00:aa:bb:cd 192.168.122.51 * *\n" +
    "duid 00:01:00:01:2a:2b:2c:2d:52:54:00:11:22:33\n" +
    "1700000001 12345 2001:db8::10 guest6 00:04:aa\n";
  const l = parseDnsmasqLeases(text, { iface: "virbr0", prefixOf: (ip) => (ip.includes(":") ? 64 : 24) });
  assert.deepEqual(l[0], {
    iface: "virbr0",
    expirytime: 1700000000,
    type: 0,
    mac: "52:54:00:aa:bb:cc",
    iaid: null,
    ipaddr: "192.168.122.50",
    prefix: 24,
    hostname: "guest1",
    clientid: "01:52:54:00:aa:bb:cc",
  });
  assert.equal(l[1]!.hostname, null);
  assert.equal(l[2]!.type, 1);
  assert.equal(l[2]!.iaid, "12345");
  assert.equal(l[2]!.mac, null);
  assert.equal(l.length, 3);
});

test("dnsmasq leases parser: bounded fuzz never throws", () => {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const alphabet = "0123456789abcdef:. *\nduid-x";
  for (let i = 0; i < 2000; i++) {
    let s = "";
    const n = rnd() % 200;
    for (let j = 0; j < n; j++) s += alphabet[rnd() % alphabet.length];
    const l = parseDnsmasqLeases(s, { iface: "x", prefixOf: () => 0 });
    for (const e of l) assert.ok(Number.isSafeInteger(e.expirytime) && e.ipaddr.length <= 45);
  }
});
