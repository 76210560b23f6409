// libvirt 9.0 as the oracle for the dnsmasq files: each tests/data/network-dnsmasq network is
// started on a private libvirtd (its own mount and network namespaces, bench/peers/libvirtd.ts)
// and the conf, hosts and addn-hosts files it writes are compared with our generators' output.
// Also the defined XML (net-dumpxml) against ours. Known difference: our conf names dhcp-leasefile= (libvirt 9.0 uses its lease helper script).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { parseNetworkXML } from "../src/conf/network/index.js";
import {
  createNetworkDriverState,
  dnsmasqFiles,
  hostNetworkDriver,
  nftRuleset,
} from "../src/drivers/network/index.js";

// Firewall comparison: libvirt's iptables rules (iptables-save) and our nftables table in one
// form, "CHAIN field=value ... -> TARGET ports".
const CHAINS: Record<string, string> = {
  LIBVIRT_INP: "INP",
  LIBVIRT_OUT: "OUT",
  LIBVIRT_FWX: "FWX",
  LIBVIRT_FWI: "FWI",
  LIBVIRT_FWO: "FWO",
  LIBVIRT_PRT: "PRT",
  input: "INP",
  output: "OUT",
  fwx: "FWX",
  fwi: "FWI",
  fwo: "FWO",
  postrouting: "PRT",
};

interface Rule {
  chain: string;
  f: Record<string, string>;
  target: string;
}

const key = (r: Rule) =>
  `${r.chain} ${Object.keys(r.f)
    .sort()
    .map((k) => `${k}=${r.f[k]}`)
    .join(" ")} -> ${r.target}`;

const host = (a: string) => a.replace(/\/(32|128)$/, "");

/** `iptables-save` / `ip6tables-save` text → rules of libvirt's chains (mangle CHECKSUM left out). */
function fromIptablesSave(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim().split(/\s+/);
    if (t[0] !== "-A" || !CHAINS[t[1]!]) continue;
    const r: Rule = { chain: CHAINS[t[1]!]!, f: {}, target: "" };
    let neg = false;
    for (let i = 2; i < t.length; i++) {
      const a = t[i]!;
      const v = t[i + 1] ?? "";
      if (a === "!") {
        neg = true;
        continue;
      }
      const n = neg ? "!" : "";
      neg = false;
      if (a === "-s") r.f.src = n + host(v);
      else if (a === "-d") r.f.dst = n + host(v);
      else if (a === "-i") r.f.in = v;
      else if (a === "-o") r.f.out = v;
      else if (a === "-p") r.f.proto = v;
      else if (a === "--dport") r.f.dport = v;
      else if (a === "--ctstate") r.f.ct = v.toLowerCase().split(",").sort().join(",");
      else if (a === "-j") r.target = v;
      else if (a === "--to-ports") r.target += ` ${v}`;
      else if (a === "--to-source") r.target += ` ${v}`;
      else continue;
      if (a !== "--to-ports" && a !== "--to-source") i++;
    }
    if (r.target === "CHECKSUM") continue;
    out.push(key(r));
  }
  return out;
}

/** Our table (`nft list table` or the generator's text) → the same form. */
function fromNft(text: string): string[] {
  const out: string[] = [];
  let chain = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const m = /^chain (\w+) \{/.exec(line);
    if (m) {
      chain = CHAINS[m[1]!] ?? "";
      continue;
    }
    if (!chain || line === "}" || line.startsWith("type ") || line.startsWith("jump ") || line === "")
      continue;
    // "{ 53, 67 }" sets stand for one iptables rule per element.
    const set = /\{ ([^}]+) \}/.exec(line);
    const variants = set ? set[1]!.split(/,\s*/).map((x) => line.replace(set[0], x)) : [line];
    for (const v of variants) {
      const t = v.split(/\s+/);
      const r: Rule = { chain, f: {}, target: "" };
      for (let i = 0; i < t.length; i++) {
        const a = t[i]!;
        const next = () => t[++i]!.replace(/^"|"$/g, "");
        if (a === "iifname") r.f.in = next();
        else if (a === "oifname") r.f.out = next();
        else if ((a === "udp" || a === "tcp") && t[i + 1] === "dport") {
          r.f.proto = a;
          i++;
          r.f.dport = next();
        } else if (a === "meta" && t[i + 1] === "l4proto") {
          i++;
          r.f.proto = next();
        } else if ((a === "ip" || a === "ip6") && (t[i + 1] === "saddr" || t[i + 1] === "daddr")) {
          const which = t[++i] === "saddr" ? "src" : "dst";
          let val = next();
          if (val === "!=") val = `!${next()}`;
          r.f[which] = host(val);
        } else if (a === "ct" && t[i + 1] === "state") {
          i++;
          r.f.ct = next().split(",").sort().join(",");
        } else if (a === "accept") r.target = "ACCEPT";
        else if (a === "reject") r.target = "REJECT";
        else if (a === "return") r.target = "RETURN";
        else if (a === "masquerade") {
          r.target = "MASQUERADE";
          if (t[i + 1] === "to") {
            i++;
            r.target += ` ${next().replace(/^:/, "")}`;
          }
        } else if (a === "snat") {
          // "snat ip to A-B:P" → SNAT A-B:P
          i += 2;
          r.target = `SNAT ${next()}`;
        }
      }
      out.push(key(r));
    }
  }
  return out;
}

const DIR = join(import.meta.dirname, "data", "network-dnsmasq");
const why =
  libvirtdUnavailable() ??
  ["/usr/bin/virsh", "/usr/sbin/dnsmasq", "/usr/sbin/iptables"].find((p) => !existsSync(p)) ??
  null;

/** Our files with libvirt's paths, without the one line libvirt 9.0 does not write. */
function ours(xml: string) {
  const def = parseNetworkXML(xml);
  const n = def.name;
  const f = dnsmasqFiles(def, def.bridge.name!, {
    pidFile: `/run/libvirt/network/${n}.pid`,
    leaseFile: "",
    hostsFile: `/var/lib/libvirt/dnsmasq/${n}.hostsfile`,
    addnHostsFile: `/var/lib/libvirt/dnsmasq/${n}.addnhosts`,
  });
  return { name: n, ...f, conf: f.conf.replace(/^dhcp-leasefile=.*\n/m, "") };
}

test("dnsmasq files, defined XML and firewall rules match libvirt 9.0's", {
  skip: why ?? false,
  timeout: 60_000,
}, async (t) => {
  const peer = await startLibvirtd();
  const uri = peer.uri("qemu");
  const virsh = (...a: string[]) => spawnSync("virsh", ["-c", uri, ...a], { encoding: "utf8" });
  let same = 0;
  let xmlSame = 0;
  let fwSame = 0;
  const fwDiffer: string[] = [];
  const root = mkdtempSync(join(tmpdir(), "tsvirt-netx-"));
  // Every case names its bridge, so defining never looks at the host's links.
  const drv = hostNetworkDriver(
    await createNetworkDriverState({
      configDir: join(root, "etc"),
      runDir: join(root, "run"),
      defaultNetwork: false,
      autostart: false,
    }),
  );
  const differ: string[] = [];
  const cases = readdirSync(DIR).filter((f) => f.endsWith(".xml"));
  try {
    for (const c of cases) {
      const xml = readFileSync(join(DIR, c), "utf8");
      const o = ours(xml);
      const d = virsh("net-define", join(DIR, c));
      assert.equal(d.status, 0, `${c}: ${d.stderr}`);
      // Defined XML (bridge driver defaults: stp/delay, a generated MAC) as libvirt prints it.
      const ref = await drv.networkDefineXMLFlags!(xml, 0);
      const mine = `${await drv.networkGetXMLDesc!(ref, 0)}\n`;
      await drv.networkUndefine!(ref);
      const noMac = (x: string) => x.replace(/<mac address='52:54:00:[0-9a-f:]{8}'\/>/, "<mac/>");
      if (noMac(mine) === noMac(virsh("net-dumpxml", o.name).stdout)) xmlSame++;
      else differ.push(`${c}: net-dumpxml differs`);
      const r = virsh("net-start", o.name);
      try {
        assert.equal(r.status, 0, r.stderr);
        const lib = join(peer.layout.lib, "dnsmasq");
        const read = (ext: string) => {
          const p = join(lib, `${o.name}.${ext}`);
          return existsSync(p) ? readFileSync(p, "utf8") : "";
        };
        const diff = (
          [
            ["conf", o.conf],
            ["hostsfile", o.hosts],
            ["addnhosts", o.addnHosts],
          ] as const
        ).filter(([ext, text]) => text !== read(ext));
        if (diff.length === 0) same++;
        else
          differ.push(
            `${c}: ${diff.map(([ext, text]) => `${ext}\n--- ours\n${text}--- libvirt\n${read(ext)}`).join("\n")}`,
          );
      } finally {
        virsh("net-destroy", o.name);
        virsh("net-undefine", o.name);
      }
    }
    // Firewall: libvirt's iptables rules for each network-nft case against our nftables table.
    const NFT = join(import.meta.dirname, "data", "network-nft");
    const nftCases = readdirSync(NFT).filter((f) => f.endsWith(".xml"));
    const save = (cmd: string) =>
      spawnSync("nsenter", ["-t", String(peer.pid), "-n", cmd], { encoding: "utf8" }).stdout;
    for (const c of nftCases) {
      const def = parseNetworkXML(readFileSync(join(NFT, c), "utf8"));
      assert.equal(virsh("net-define", join(NFT, c)).status, 0);
      const r = virsh("net-start", def.name);
      try {
        if (r.status !== 0) {
          fwDiffer.push(`${c}: libvirt cannot start it here: ${r.stderr.trim()}`);
          continue;
        }
        const theirs = [
          ...fromIptablesSave(save("iptables-save")),
          ...fromIptablesSave(save("ip6tables-save")),
        ];
        const mine = fromNft(nftRuleset([{ def, bridge: def.bridge.name! }]));
        // libvirt repeats family-neutral rules in iptables and ip6tables; our inet table has one.
        const sort = (x: string[]) => [...new Set(x)].sort();
        if (JSON.stringify(sort(mine)) === JSON.stringify(sort(theirs))) fwSame++;
        else
          fwDiffer.push(`${c}:\n--- ours\n${sort(mine).join("\n")}\n--- libvirt\n${sort(theirs).join("\n")}`);
      } finally {
        virsh("net-destroy", def.name);
        virsh("net-undefine", def.name);
      }
    }
    t.diagnostic(
      `${fwSame}/${nftCases.length} networks: firewall rules equivalent to libvirt 9.0's iptables rules`,
    );
  } finally {
    await peer.stop();
    rmSync(root, { recursive: true, force: true });
  }
  t.diagnostic(`${xmlSame}/${cases.length} networks: defined XML identical to libvirt 9.0 (MAC aside)`);
  t.diagnostic(`${same}/${cases.length} networks: conf, hostsfile and addnhosts identical to libvirt 9.0`);
  assert.deepEqual(differ, []);
  assert.deepEqual(fwDiffer, []);
});
