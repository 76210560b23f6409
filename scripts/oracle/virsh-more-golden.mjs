// Records real virsh 9.0's answers to tests/data/virsh-more/cases.txt into
// tests/data/virsh-more/golden.json: each case (one line, a virsh command string, `;` separating
// commands) runs in its own `virsh -c test:///default "<line>"` process, so each starts from the
// test driver's default state, in a fresh temporary directory holding a copy of files/.
// Usage: node scripts/oracle/virsh-more-golden.mjs
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = "tests/data/virsh-more";
const env = { ...process.env, LC_ALL: "C", LANG: "C", EDITOR: "true", VISUAL: "true" };
delete env.LIBVIRT_DEFAULT_URI;
delete env.VIRSH_DEFAULT_CONNECT_URI;
const lines = readFileSync(`${dir}/cases.txt`, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));
const cases = [];
// virsh 9.0 sometimes hangs in its job-watch loop after save/managedsave on test:///default
// (as scripts/oracle/virsh-golden.mjs notes): such a run is retried.
function once(line) {
  const cwd = mkdtempSync(join(tmpdir(), "virsh-more-"));
  cpSync(`${dir}/files`, cwd, { recursive: true });
  try {
    // stdin is not a terminal here (console refuses as it does without one)
    return spawnSync("virsh", ["-c", "test:///default", line], {
      cwd,
      env,
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
for (const line of lines) {
  let r = once(line);
  for (let i = 0; i < 15 && r.status === null; i++) r = once(line);
  if (r.status === null) throw new Error(`virsh kept hanging on: ${line}`);
  cases.push({ line, stdout: r.stdout, stderr: r.stderr, status: r.status });
}
writeFileSync(`${dir}/golden.json`, `${JSON.stringify({ virsh: "9.0.0", cases }, null, 1)}\n`);
console.log(`recorded ${cases.length} cases`);
