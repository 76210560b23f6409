// Generated differential matrix for tsvirsh's order of checks: for every command in virsh 9.0's
// option tables (src/cli/virsh/defs), its required options filled in, each optional option given
// alone with a bad value (numbers: x, -1, 2^64+; strings: empty, unknown; flags set; the usual
// exclusive pairs together). Mode "nosuch" (commands with a <domain>) names a missing domain, so
// it shows which checks virsh makes before the lookup; mode "test" uses test:///default's objects.
// Each line runs in real virsh (its own process, fresh test:///default, a copy of
// tests/data/virsh-more/files as cwd) and in tsvirsh in-process; the differing lines are printed.
// Commands that wait (console, events), edit or migrate are skipped. Findings are meant to become
// tests/data/virsh-more/cases.txt lines (recorded by virsh-more-golden.mjs).
// Usage: node --import tsx scripts/oracle/virsh-check-matrix.mts [nosuch|test] [command-regex] [--list]
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { openConnection } from "../../src/api/index.js";
import { VirshControl, virshGroups } from "../../src/cli/virsh/index.js";
import { groupSpecs } from "../../src/cli/virsh/defs/index.js";

const [mode = "nosuch", only, list] = process.argv.slice(2);
const files = new URL("../../tests/data/virsh-more/files", import.meta.url).pathname;
const skip = new Set(
  "console event qemu-monitor-event cd connect quit exit pwd echo help edit net-edit pool-edit iface-edit nwfilter-edit snapshot-edit checkpoint-edit secret-edit managedsave-edit save-image-edit net-event pool-event nodedev-event secret-event migrate domjobinfo vncdisplay vol-upload vol-download nodesuspend lxc-enter-namespace".split(
    " ",
  ),
);
const fill: Record<string, [string, string]> = {
  domain: ["test", "nosuch"],
  network: ["default", "nosuch"],
  pool: ["default-pool", "nosuch"],
  file: ["test.xml", "test.xml"],
  xml: ["test.xml", "test.xml"],
  interface: ["eth1", "eth1"],
};

function lines(): string[] {
  const out: string[] = [];
  const bad = mode === "nosuch";
  for (const g of groupSpecs)
    for (const c of g.commands) {
      if (skip.has(c.name) || (only && !new RegExp(only).test(c.name))) continue;
      const opts = c.opts.filter(([, k]) => !k.startsWith("a:"));
      const req = opts.filter(([, k]) => k.includes("!"));
      if (bad && !req.some(([n]) => n === "domain")) continue;
      const reqArgs = (except?: string) =>
        req
          .filter(([n]) => n !== except)
          .map(([n, k]) => `--${n} ${fill[n]?.[bad ? 1 : 0] ?? (k.startsWith("i") ? "1" : "x")}`)
          .join(" ");
      const base = `${c.name} ${reqArgs()}`;
      out.push(base, `${base} --nosuchopt`);
      for (const [n, k] of opts) {
        if (k.includes("!")) {
          if (k.startsWith("i")) out.push(`${c.name} ${reqArgs(n)} --${n} x`);
          else if (n !== "domain") out.push(`${c.name} ${reqArgs(n)} --${n} ''`);
        } else if (k.startsWith("b")) out.push(`${base} --${n}`);
        else if (k.startsWith("i")) for (const v of ["x", "-1", "99999999999999999999"]) out.push(`${base} --${n} ${v}`);
        else if (k.startsWith("s") || k.startsWith("d")) out.push(`${base} --${n} ''`, `${base} --${n} zz`);
      }
      const names = opts.map(([n]) => n);
      const pairs = [
        ["current", "live"],
        ["current", "config"],
        ["live", "config"],
        ["running", "paused"],
        ["enable", "disable"],
      ];
      for (const [a, b] of pairs) if (names.includes(a!) && names.includes(b!)) out.push(`${base} --${a} --${b}`);
    }
  return out;
}

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _e: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const all = lines();
if (list) {
  console.log(all.join("\n"));
  process.exit(0);
}
const env = { ...process.env, LC_ALL: "C", LANG: "C", EDITOR: "true", VISUAL: "true" };
delete env.LIBVIRT_DEFAULT_URI;
delete env.VIRSH_DEFAULT_CONNECT_URI;
process.env.EDITOR = "true";
process.env.VISUAL = "true";
const mod: Record<string, unknown> = await import("../../src/drivers/test/index.js" as string);
if (typeof mod.registerTestDriver === "function") await (mod.registerTestDriver as () => Promise<void>)();
const norm = (s: string) => s.replace(/\/tmp\/virsh-matrix-\w+/g, "<cwd>");
const groups = virshGroups();
let same = 0;
for (const line of all) {
  const cwd = mkdtempSync(join(tmpdir(), "virsh-matrix-"));
  try {
    cpSync(files, cwd, { recursive: true });
    // virsh 9.0 sometimes hangs in its job-watch loop on test:///default: retried, then reported
    let want: { stdout: string; stderr: string; status: number | null } = { stdout: "", stderr: "", status: null };
    for (let i = 0; i < 3 && want.status === null; i++) {
      const r = spawnSync("virsh", ["-c", "test:///default", line], {
        cwd,
        env,
        encoding: "utf8",
        timeout: 5000,
        stdio: ["ignore", "pipe", "pipe"],
      });
      want = { stdout: norm(r.stdout), stderr: norm(r.stderr), status: r.status };
    }
    const out = new Capture();
    const err = new Capture();
    const ctl = new VirshControl({
      out,
      err,
      groups,
      open: (u, ro) => openConnection(u ?? "test:///default", { readOnly: ro }),
      close: (c) => c.close(),
    });
    ctl.cwd = cwd;
    const home = process.cwd();
    process.chdir(cwd);
    let ok: boolean;
    try {
      await ctl.connect("test:///default", false);
      ok = await ctl.runString(line);
    } finally {
      await ctl.disconnect();
      process.chdir(home);
    }
    const got = { stdout: norm(out.text), stderr: norm(err.text), status: ok ? 0 : 1 };
    if (JSON.stringify(got) === JSON.stringify(want)) same++;
    else console.log(`DIFF ${line}\n  virsh   ${JSON.stringify(want)}\n  tsvirsh ${JSON.stringify(got)}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
console.log(`${mode}: identical ${same}/${all.length}`);
