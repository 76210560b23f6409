// End-to-end check of the built tsvirsh binary against the installed real virsh 9.0: the same
// argv (argv mode, one command string, commands on standard input, global options) must give
// the same stdout, stderr and exit status. Needs `npm run build` (npm test builds first).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = `${root}dist/bin/tsvirsh.js`;
const dataDir = `${root}tests/data/virsh`;
const haveVirsh = spawnSync("virsh", ["--version"]).status === 0;

const env = { ...process.env, LC_ALL: "C", LIBVIRT_DEFAULT_URI: "test:///default" };
delete (env as Record<string, string | undefined>).VIRSH_DEFAULT_CONNECT_URI;

function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { cwd: dataDir, env, input: input ?? "", encoding: "utf8", timeout: 20000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const CASES: { args: string[]; input?: string }[] = [
  { args: ["list", "--all"] },
  { args: ["-q", "dominfo test; domstate test --reason; nosuch"] },
  { args: ["dominfo", "nosuch"] },
  { args: ["-r", "define xml/dom2.xml"] },
  { args: ["-c", "test:///default", "net-list", "--all"] },
  { args: ["-q"], input: "uri\nlist --name\n\nfoo --bar\nquit\nuri\n" },
  { args: ["-r"], input: "uri\n" },
  { args: ["-v"] },
  { args: ["--help"] },
  { args: ["-z"] },
  { args: ["-c"] },
  { args: ["start", "--foo"] },
  { args: ["echo", "a b", "c"] },
  { args: ["-d", "0", "domid test; domname 1; domuuid nosuch"] },
  { args: ["-q", "list --all; net-list; pool-list --details; domblklist test; iface-list"] },
];

test("tsvirsh binary behaves as virsh for argv, string and stdin modes", (t) => {
  if (!existsSync(bin)) return t.skip("dist/bin/tsvirsh.js not built (run npm run build)");
  if (!haveVirsh) return t.skip("real virsh is not installed");
  for (const c of CASES) {
    const want = run("virsh", c.args, c.input);
    const got = run(process.execPath, [bin, ...c.args], c.input);
    assert.deepEqual(got, want, `tsvirsh ${c.args.join(" ")}`);
  }
});
