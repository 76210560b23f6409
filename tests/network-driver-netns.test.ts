// The host network driver for real, inside network namespaces this test creates (never the
// host's own): a NAT network gets its bridge, address, nftables table and dnsmasq; a busybox
// udhcpc client in a second namespace gets a lease that networkGetDHCPLeases reports; failed
// starts roll back; a new driver state finds running networks again and autostarts persistent
// ones; destroy removes bridge, dnsmasq and rules.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { NetworkEvent, NetworkRef } from "../src/driver/index.js";
import {
  VIR_CONNECT_LIST_NETWORKS as LN,
  VIR_NETWORK_EVENT,
  VIR_NETWORK_SECTION,
  VIR_NETWORK_UPDATE_COMMAND,
} from "../src/driver/index.js";
import {
  createNetworkDriverState,
  hostNetworkDriver,
  networkBridgeResolver,
  type NetworkDriverOptions,
  type NetworkDriverState,
} from "../src/drivers/network/index.js";
import { isZombie, pidAlive } from "../src/host/index.js";

const tag = `${process.pid % 100000}`;
const NS = `tsvirt-test-${tag}`;
const CLIENT = `tsvirt-test-${tag}c`;
const can =
  process.getuid?.() === 0 &&
  ["/usr/sbin/ip", "/usr/sbin/nft", "/usr/sbin/dnsmasq", "/usr/bin/busybox"].every((p) => existsSync(p)) &&
  spawnSync("ip", ["netns", "add", NS]).status === 0;
const skip = can ? false : "needs root, ip netns, nft, dnsmasq and busybox";

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: "utf8" });
const inNs = (ns: string, args: string[]) => sh(["ip", "netns", "exec", ns, ...args]);
const tryRun = (args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });

let root = "";
const states: NetworkDriverState[] = [];
const opts = (o: Partial<NetworkDriverOptions> = {}): NetworkDriverOptions => ({
  configDir: join(root, "etc", "network"),
  runDir: join(root, "run", "network"),
  netns: NS,
  warn: () => {},
  ...o,
});
async function newState(o: Partial<NetworkDriverOptions> = {}) {
  const st = await createNetworkDriverState(opts(o));
  states.push(st);
  return { st, d: hostNetworkDriver(st) };
}

const NAT_XML = `<network>
  <name>tnat</name>
  <forward mode='nat'/>
  <bridge stp='off'/>
  <ip address='10.77.0.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.77.0.100' end='10.77.0.150'/>
    </dhcp>
  </ip>
</network>`;

before(() => {
  if (!can) return;
  root = mkdtempSync(join(tmpdir(), "tsvirt-net-"));
  // dnsmasq re-reads its host files as the unprivileged user it drops to (as under /run).
  chmodSync(root, 0o755);
  sh(["ip", "-n", NS, "link", "set", "lo", "up"]);
  sh(["ip", "netns", "add", CLIENT]);
});

after(async () => {
  if (!can) return;
  // The newest state knows what runs now (earlier ones are stale views of the same networks).
  await states.at(-1)?.stopAll();
  // Anything a failed test left running: dnsmasq started on our own conf files, by pidfile.
  const run = join(root, "run", "network");
  for (const f of existsSync(run) ? readdirSync(run).filter((x) => x.endsWith(".pid")) : []) {
    const pid = Number.parseInt(readFileSync(join(run, f), "utf8"), 10);
    const cmd = tryRun(["cat", `/proc/${pid}/cmdline`]).stdout ?? "";
    if (pid > 1 && cmd.includes(run)) process.kill(pid, "SIGKILL");
  }
  tryRun(["ip", "netns", "del", CLIENT]);
  tryRun(["ip", "netns", "del", NS]);
  rmSync(root, { recursive: true, force: true });
});

let ref: NetworkRef;
let bridge = "";

test("first start defines the default network (autostart) and a NAT network starts", { skip }, async () => {
  const { st, d } = await newState({ autostart: false });
  const all = await d.connectListAllNetworks!(0);
  assert.deepEqual(
    all.map((n) => n.name),
    ["default"],
  );
  const def = await d.networkLookupByName!("default");
  assert.equal(await d.networkGetAutostart!(def), true);
  assert.equal(await d.networkIsActive!(def), false);
  assert.match(await d.networkGetXMLDesc!(def, 0), /<bridge name='virbr0' stp='on' delay='0'\/>/);

  const events: NetworkEvent[] = [];
  await d.connectNetworkEventRegisterAny!(null, 0, (e) => events.push(e));
  ref = await d.networkDefineXMLFlags!(NAT_XML, 0);
  bridge = await d.networkGetBridgeName!(ref);
  assert.equal(bridge, "virbr1", "virbr0 is taken by the default network's definition");
  await d.networkCreate!(ref);
  const xml = await d.networkGetXMLDesc!(ref, 0);
  assert.match(xml, /<mac address='52:54:00:[0-9a-f:]{8}'\/>/);

  const addr = sh(["ip", "-n", NS, "-o", "addr", "show", "dev", bridge]);
  assert.match(addr, /inet 10\.77\.0\.1\/24/);
  const mac = /<mac address='([^']+)'/.exec(xml)![1]!;
  assert.match(sh(["ip", "-n", NS, "link", "show", "dev", bridge]), new RegExp(mac));
  const table = inNs(NS, ["nft", "list", "table", "inet", "tsvirt_net"]);
  assert.match(table, /ip saddr 10\.77\.0\.0\/24 ip daddr != 10\.77\.0\.0\/24 masquerade to :1024-65535/);
  assert.match(table, new RegExp(`iifname "${bridge}" reject`));
  assert.equal(inNs(NS, ["sysctl", "-n", "net.ipv4.ip_forward"]).trim(), "1");
  const pid = st.nets.byName("tnat")!.dnsmasqPid!;
  assert.ok(pidAlive(pid));
  assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /dnsmasq/);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    events.map((e) => [e.net.name, e.event]),
    [
      ["tnat", VIR_NETWORK_EVENT.DEFINED],
      ["tnat", VIR_NETWORK_EVENT.STARTED],
    ],
  );
  // The QEMU driver's resolver for <interface type='network'>.
  const resolve = networkBridgeResolver(Promise.resolve(st));
  assert.equal(await resolve("tnat"), bridge);
  await assert.rejects(
    resolve("default"),
    /Requested operation is not valid: network 'default' is not active/,
  );
  await assert.rejects(resolve("nope"), /Network not found: no network with matching name 'nope'/);
  const active = await d.connectListAllNetworks!(LN.ACTIVE);
  assert.deepEqual(
    active.map((n) => n.name),
    ["tnat"],
  );
});

test("a DHCP client in another namespace gets a lease that networkGetDHCPLeases reports", {
  skip,
}, async () => {
  const d = hostNetworkDriver(states[0]!);
  await d.networkUpdate!(
    ref,
    VIR_NETWORK_UPDATE_COMMAND.ADD_LAST,
    VIR_NETWORK_SECTION.IP_DHCP_HOST,
    -1,
    "<host mac='52:54:00:77:00:42' name='guest42' ip='10.77.0.42'/>",
    0,
  );
  assert.match(
    readFileSync(join(root, "run", "network", "tnat.hostsfile"), "utf8"),
    /52:54:00:77:00:42,10\.77\.0\.42,guest42/,
  );
  assert.match(
    await d.networkGetXMLDesc!(ref, 0),
    /<host mac='52:54:00:77:00:42' name='guest42' ip='10.77.0.42'\/>/,
  );
  const veth = `vt${tag}`;
  sh(["ip", "-n", NS, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", CLIENT]);
  sh(["ip", "-n", NS, "link", "set", veth, "master", bridge, "up"]);
  sh(["ip", "-n", CLIENT, "link", "set", "eth0", "address", "52:54:00:77:00:42", "up"]);
  const r = spawnSync(
    "ip",
    [
      "netns",
      "exec",
      CLIENT,
      "busybox",
      "udhcpc",
      "-i",
      "eth0",
      "-n",
      "-q",
      "-t",
      "8",
      "-T",
      "1",
      "-s",
      "/bin/true",
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout + r.stderr, /10\.77\.0\.42/);
  let leases = await d.networkGetDHCPLeases!(ref, null, 0);
  for (let i = 0; i < 50 && leases.length === 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    leases = await d.networkGetDHCPLeases!(ref, null, 0);
  }
  assert.equal(leases.length, 1);
  assert.equal(leases[0]!.mac, "52:54:00:77:00:42");
  assert.equal(leases[0]!.ipaddr, "10.77.0.42");
  assert.equal(leases[0]!.iface, bridge);
  assert.equal(leases[0]!.prefix, 24);
  assert.equal(leases[0]!.type, 0);
  assert.deepEqual(await d.networkGetDHCPLeases!(ref, "52:54:00:00:00:01", 0), []);
});

test("failed starts leave no bridge, no dnsmasq and no rules", { skip }, async () => {
  const { d } = await newState({ dnsmasqBinary: "/bin/false", autostart: false });
  // Same subnet as the running network: refused before anything is made.
  const clash = await d.networkDefineXMLFlags!(NAT_XML.replace("tnat", "tclash"), 0);
  await assert.rejects(d.networkCreate!(clash), /Network is already in use by interface virbr1/);
  const br = await d.networkGetBridgeName!(clash);
  assert.equal(tryRun(["ip", "-n", NS, "link", "show", "dev", br]).status, 1);
  // dnsmasq cannot start: bridge and its rules are rolled back.
  const iso = await d.networkDefineXMLFlags!(
    "<network><name>tiso</name><ip address='10.78.0.1' netmask='255.255.255.0'><dhcp><range start='10.78.0.2' end='10.78.0.9'/></dhcp></ip></network>",
    0,
  );
  const isoBr = await d.networkGetBridgeName!(iso);
  await assert.rejects(d.networkCreate!(iso));
  assert.equal(tryRun(["ip", "-n", NS, "link", "show", "dev", isoBr]).status, 1);
  const table = inNs(NS, ["nft", "list", "table", "inet", "tsvirt_net"]);
  assert.ok(!table.includes(isoBr), "the failed network's rules are gone");
  assert.ok(table.includes(`"${bridge}"`), "the running network's rules stay");
  assert.equal(await d.networkIsActive!(iso), false);
  await d.networkUndefine!(iso);
  await d.networkUndefine!(clash);
});

test("a new driver state finds the running network; destroy removes everything; autostart brings it back", {
  skip,
}, async () => {
  // dnsmasq dies while no daemon watches: the next one finds the bridge and restarts dnsmasq.
  const old = states[0]!.nets.byName("tnat")!.dnsmasqPid!;
  process.kill(old, "SIGKILL");
  for (let i = 0; i < 100 && pidAlive(old) && !isZombie(old); i++)
    await new Promise((r) => setTimeout(r, 10));
  const { st, d } = await newState({ autostart: false });
  const n = st.nets.byName("tnat")!;
  assert.equal(n.active, true);
  const pid = n.dnsmasqPid!;
  assert.ok(pid !== undefined && pid !== old && pidAlive(pid), "dnsmasq runs again");
  await d.networkSetAutostart!(ref, true);
  await d.networkDestroy!(ref);
  assert.equal(tryRun(["ip", "-n", NS, "link", "show", "dev", bridge]).status, 1);
  assert.ok(!pidAlive(pid) || isZombie(pid), "dnsmasq is gone");
  assert.equal(tryRun(["ip", "netns", "exec", NS, "nft", "list", "table", "inet", "tsvirt_net"]).status, 1);
  await assert.rejects(d.networkDestroy!(ref), /network 'tnat' is not active/);
  // Forget the other states' view of it (they are stale now).
  states[0]!.nets.byName("tnat")!.active = false;

  // Daemon restart: persistent + autostart comes back (default stays off: its autostart is
  // turned off here so the test namespace gets only what the test asks for).
  await d.networkSetAutostart!(await d.networkLookupByName!("default"), false);
  const again = await newState();
  const n2 = again.st.nets.byName("tnat")!;
  assert.equal(n2.active, true);
  assert.equal(n2.persistent, true);
  assert.match(sh(["ip", "-n", NS, "-o", "addr", "show", "dev", bridge]), /10\.77\.0\.1\/24/);
  assert.equal(again.st.nets.byName("default")!.active, false);
  await again.d.networkDestroy!(ref);
  assert.equal(tryRun(["ip", "-n", NS, "link", "show", "dev", bridge]).status, 1);
});

test("transient, routed, isolated and bridge-mode networks; redefine while running; errors", {
  skip,
}, async () => {
  const { st, d } = await newState({ autostart: false });
  // Transient: create, cannot autostart or undefine, destroy removes it entirely.
  const tr = await d.networkCreateXMLFlags!(
    "<network><name>troute</name><forward mode='route'/><bridge stp='off'/><ip address='10.79.0.1' prefix='24'/></network>",
    0,
  );
  assert.equal(await d.networkIsPersistent!(tr), false);
  await assert.rejects(d.networkSetAutostart!(tr, true), /cannot set autostart for transient network/);
  await assert.rejects(d.networkUndefine!(tr), /can't undefine transient network/);
  const iso = await d.networkDefineXMLFlags!(
    "<network><name>tiso2</name><bridge stp='off'/><ip address='10.80.0.1' prefix='24'><dhcp><range start='10.80.0.10' end='10.80.0.20'/></dhcp></ip></network>",
    0,
  );
  await d.networkCreate!(iso);
  const trBr = await d.networkGetBridgeName!(tr);
  const isoBr = await d.networkGetBridgeName!(iso);
  const table = inNs(NS, ["nft", "list", "table", "inet", "tsvirt_net"]);
  assert.match(table, new RegExp(`iifname "${trBr}" ip saddr 10\\.79\\.0\\.0/24 accept`));
  assert.match(table, new RegExp(`oifname "${trBr}" ip daddr 10\\.79\\.0\\.0/24 accept`));
  assert.ok(!/10\.79\.0\.0\/24 ip daddr != .*masquerade/.test(table), "routed networks get no NAT");
  assert.ok(!table.includes("10.80.0.0/24"), "isolated networks forward nothing");
  assert.match(table, new RegExp(`iifname "${isoBr}" reject`));
  assert.match(readFileSync(join(root, "run", "network", "tiso2.conf"), "utf8"), /^dhcp-option=3$/m);
  assert.deepEqual(
    (await d.connectListAllNetworks!(LN.TRANSIENT)).map((n) => n.name),
    ["troute"],
  );
  assert.deepEqual(
    (await d.connectListAllNetworks!(LN.PERSISTENT | LN.ACTIVE)).map((n) => n.name),
    ["tiso2"],
  );

  // A range change restarts dnsmasq with the new conf.
  const pid = st.nets.byName("tiso2")!.dnsmasqPid!;
  await d.networkUpdate!(
    iso,
    VIR_NETWORK_UPDATE_COMMAND.ADD_LAST,
    VIR_NETWORK_SECTION.IP_DHCP_RANGE,
    -1,
    "<range start='10.80.0.30' end='10.80.0.40'/>",
    3,
  );
  const pid2 = st.nets.byName("tiso2")!.dnsmasqPid!;
  assert.notEqual(pid2, pid);
  assert.match(
    readFileSync(join(root, "run", "network", "tiso2.conf"), "utf8"),
    /dhcp-range=10\.80\.0\.30,10\.80\.0\.40,255\.255\.255\.0/,
  );
  assert.match(await d.networkGetXMLDesc!(iso, 1), /10\.80\.0\.30/);
  await assert.rejects(
    d.networkUpdate!(
      iso,
      VIR_NETWORK_UPDATE_COMMAND.DELETE,
      VIR_NETWORK_SECTION.IP_DHCP_HOST,
      -1,
      "<host mac='52:54:00:00:00:09' ip='10.80.0.9'/>",
      0,
    ),
    /couldn't locate a matching dhcp host entry in network 'tiso2'/,
  );
  await assert.rejects(d.networkGetDHCPLeases!(iso, "zz", 0), /invalid MAC address: zz/);

  // Redefining a running network waits for its next start; undefine makes it transient.
  await d.networkDefineXMLFlags!((await d.networkGetXMLDesc!(iso, 1)).replace("10.80.0.20", "10.80.0.25"), 0);
  assert.match(await d.networkGetXMLDesc!(iso, 1), /10\.80\.0\.25/);
  assert.match(await d.networkGetXMLDesc!(iso, 0), /10\.80\.0\.20/);
  await assert.rejects(
    d.networkDefineXMLFlags!("<network><name>tiso2</name><ip address='10.81.0.1' prefix='24'/></network>", 0),
    /operation failed: network 'tiso2' already exists with uuid/,
  );
  await d.networkUndefine!(iso);
  assert.equal(await d.networkIsPersistent!(iso), false);
  assert.ok(!existsSync(join(root, "etc", "network", "tiso2.xml")));
  await d.networkDestroy!(iso);
  await d.networkDestroy!(tr);
  await assert.rejects(
    d.networkLookupByName!("tiso2"),
    /Network not found: no network with matching name 'tiso2'/,
  );
  await assert.rejects(d.networkLookupByName!("troute"), /no network with matching name 'troute'/);
  assert.equal(tryRun(["ip", "netns", "exec", NS, "nft", "list", "table", "inet", "tsvirt_net"]).status, 1);
  assert.equal(tryRun(["ip", "-n", NS, "link", "show", "dev", trBr]).status, 1);

  // forward mode bridge: an existing host bridge, no dnsmasq and no rules.
  const bxml = "<network><name>tbr</name><forward mode='bridge'/><bridge name='brx0'/></network>";
  const b = await d.networkDefineXMLFlags!(bxml, 0);
  await assert.rejects(d.networkCreate!(b), /bridge 'brx0' does not exist/);
  sh(["ip", "-n", NS, "link", "add", "brx0", "type", "bridge"]);
  await d.networkCreate!(b);
  assert.equal(st.nets.byName("tbr")!.dnsmasqPid, undefined);
  assert.equal(tryRun(["ip", "netns", "exec", NS, "nft", "list", "table", "inet", "tsvirt_net"]).status, 1);
  await d.networkDestroy!(b);
  assert.equal(
    tryRun(["ip", "-n", NS, "link", "show", "dev", "brx0"]).status,
    0,
    "a host bridge is not ours to delete",
  );
  await d.networkUndefine!(b);
});
