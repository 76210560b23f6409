// A wider, unrecorded differential sweep of the QEMU driver's define-time XML: every case of the
// generic domain corpus (tests/data/domain-xml2xml, written for the test driver) retyped as a
// qemu domain, defined on a private libvirtd 9.0 (bench/peers/libvirtd.ts) and through tsvirt's
// parse + QEMU post-parse (recorded QEMU capabilities), then compared (`dumpxml --inactive`, or
// both refusing). Prints the counts and the first differing line of each case.
// Run as root: node --import tsx scripts/oracle/qemu-dumpxml-sweep.ts [--verbose] [--diff] [name-filter]
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLibvirtd } from "../../bench/peers/libvirtd.js";
import { formatDomainXML, parseDomainXML } from "../../src/conf/domain/index.js";
import type { QemuCaps } from "../../src/drivers/qemu/capabilities.js";
import { qemuPostParse, xmlNamesArch } from "../../src/drivers/qemu/domain-post-parse.js";
import { DUMPXML_DIR, normaliseDumpxml } from "./qemu-dumpxml-normalise.js";

const SRC = join(DUMPXML_DIR, "..", "domain-xml2xml");
const CAPS: Record<string, string> = {
  x86_64: join(DUMPXML_DIR, "..", "qemu-xml2argv", "caps-x86_64.json"),
  i686: join(DUMPXML_DIR, "caps-i386.json"),
};
const showDiff = process.argv.includes("--diff");
const verbose = showDiff || process.argv.includes("--verbose");
const filter = process.argv.slice(2).find((a) => !a.startsWith("--"));

function ours(xml: string): { xml?: string; err?: string } {
  try {
    const def = parseDomainXML(xml, { noIfnames: true });
    const archGiven = xmlNamesArch(xml);
    const arch = archGiven ? def.os.arch : "x86_64";
    const caps = JSON.parse(readFileSync(CAPS[arch] ?? CAPS.x86_64!, "utf8")) as QemuCaps;
    if (def.type === "kvm") caps.kvm = { present: true, usable: true };
    qemuPostParse(def, caps, archGiven);
    return { xml: `${formatDomainXML(def, { inactive: true })}\n` };
  } catch (e) {
    return { err: (e as Error).message };
  }
}

const cache = ".cache/libvirt-qemu-peer";
mkdirSync(cache, { recursive: true });
const peer = await startLibvirtd({ cacheDir: cache });
const uri = peer.uri("qemu");
const virsh = (args: string[]) =>
  new Promise<{ ok: boolean; out: string; err: string }>((resolve) => {
    execFile("virsh", ["-c", uri, ...args], { env: { ...process.env, LC_ALL: "C" } }, (e, stdout, stderr) => {
      resolve({ ok: !e, out: stdout, err: stderr.trim() });
    });
  });
const tmp = mkdtempSync(join(tmpdir(), "qemu-sweep-"));
const counts = { same: 0, bothRefuse: 0, refuseDiffers: 0, differ: 0, weRefuse: 0, theyRefuse: 0 };
try {
  const names = readdirSync(SRC)
    .filter((f) => f.endsWith(".xml") && !f.endsWith(".out.xml") && !/-rev(attr|children)\.xml$/.test(f))
    .filter((f) => !filter || f.includes(filter))
    .sort();
  for (const f of names) {
    const text = readFileSync(join(SRC, f), "utf8").replace(
      /<domain type=(['"])test\1/,
      "<domain type='qemu'",
    );
    const name = /<name>([^<]*)<\/name>/.exec(text)?.[1];
    if (!name) continue;
    const file = join(tmp, f);
    writeFileSync(file, text);
    const def = await virsh(["define", file]);
    let theirs: { xml?: string; err?: string };
    // by UUID when there is one: a name with XML entities is not what virsh gets from the text
    const uuid = /<uuid>([^<]*)<\/uuid>/.exec(text)?.[1]?.trim();
    const id = uuid && /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(uuid) ? uuid : name;
    if (def.ok) {
      theirs = { xml: (await virsh(["dumpxml", "--inactive", id])).out };
      await virsh(["undefine", "--nvram", id]);
    } else theirs = { err: def.err.split("\n").at(-1) };
    const mine = ours(text);
    let verdict: string;
    if (theirs.err !== undefined && mine.err !== undefined) {
      if (theirs.err === `error: ${mine.err}`) {
        counts.bothRefuse++;
        continue;
      }
      counts.refuseDiffers++;
      verdict = `both refuse: libvirt ${theirs.err}, ours ${mine.err}`;
    } else if (theirs.err !== undefined) {
      counts.theyRefuse++;
      verdict = `libvirt refuses (${theirs.err}), we accept`;
    } else if (mine.err !== undefined) {
      counts.weRefuse++;
      verdict = `we refuse: ${mine.err}`;
    } else {
      const a = normaliseDumpxml(text, theirs.xml!).split("\n");
      const b = normaliseDumpxml(text, mine.xml!).split("\n");
      const i = a.findIndex((l, k) => l !== b[k]);
      if (i < 0 && a.length === b.length) {
        counts.same++;
        continue;
      }
      counts.differ++;
      verdict = `line ${i + 1}: libvirt ${JSON.stringify(a[i])} ours ${JSON.stringify(b[i])}`;
      if (showDiff) {
        writeFileSync(join(tmp, "libvirt"), a.join("\n"));
        writeFileSync(join(tmp, "ours"), b.join("\n"));
        verdict += `\n${spawnSync("diff", ["-u", join(tmp, "libvirt"), join(tmp, "ours")]).stdout}`;
      }
    }
    if (verbose) console.log(`${f}: ${verdict}`);
  }
  const total = Object.values(counts).reduce((x, y) => x + y, 0);
  console.log(`${total} cases: ${JSON.stringify(counts)}`);
} finally {
  await peer.stop();
  rmSync(tmp, { recursive: true, force: true });
}
