// Runs each entry of tests/data/virsh/script.txt through real virsh as if the whole script were one
// session on test:///default, and records each entry's own stdout, stderr and exit status.
//
// test:///default state lives only inside one virsh process, so entry k is recorded by ONE process:
//   virsh -c test:///default "<entries 1..k-1 that parse>\necho __M__\necho --err __M__\n<entry k>"
// Newline separates commands in virsh's string grammar (and ends '#' comments). Entries that fail to
// parse are left out of later prefixes (virsh runs nothing of a line that does not parse). The text
// after the markers is entry k's output; the exit status is that of its last command (vshCommandRun).
// If entry k itself does not parse, the whole string fails: its parse error is all there is.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const dir = "tests/data/virsh";
const env = { ...process.env, LC_ALL: "C", LANG: "C", EDITOR: "true", VISUAL: "true" };
delete env.LIBVIRT_DEFAULT_URI;
delete env.VIRSH_DEFAULT_CONNECT_URI;
const entries = readFileSync(`${dir}/script.txt`, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));

// virsh 9.0 sometimes hangs in its job-watch loop (managedsave on test:///default): retry on timeout.
function virshSync(cmd) {
  return spawnSync("virsh", ["-c", "test:///default", cmd], { cwd: dir, env, encoding: "utf8", timeout: 10000 });
}
function virshAsync(cmd) {
  return new Promise((resolve) => {
    const child = execFile(
      "virsh",
      ["-c", "test:///default", cmd],
      { cwd: dir, env, encoding: "utf8", timeout: 10000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ status: child.exitCode, signal: child.signalCode, stdout, stderr, err }),
    );
  });
}
async function virsh(cmd) {
  for (let attempt = 0; attempt < 15; attempt++) {
    const r = await virshAsync(cmd);
    if (r.status !== null && !r.signal) return r;
  }
  throw new Error(`virsh kept hanging on: ${cmd.split("\n").at(-1)}`);
}

const parses = entries.map((line) => {
  const r = virshSync(`echo __P__\n${line}`);
  return r.stdout.startsWith("__P__");
});

const M = "__M__";
async function record(k) {
  const line = entries[k];
  const prefix = entries.slice(0, k).filter((_, j) => parses[j]);
  const r = await virsh([...prefix, `echo ${M}`, `echo --err ${M}`, line].join("\n"));
  let stdout = r.stdout;
  let stderr = r.stderr;
  if (parses[k]) {
    const o = stdout.indexOf(`${M}\n\n`);
    const e = stderr.indexOf(`error: ${M}\n`);
    if (o < 0 || e < 0) throw new Error(`entry ${k + 1} (${line}): markers not found`);
    stdout = stdout.slice(o + M.length + 2);
    stderr = stderr.slice(e + M.length + 8);
  }
  return { n: k + 1, line, parses: parses[k], stdout, stderr, status: r.status };
}

// four virsh processes at a time: each entry is recorded independently of the others
const results = new Array(entries.length);
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < entries.length) {
      const k = next++;
      results[k] = await record(k);
    }
  }),
);

mkdirSync(`${dir}/golden`, { recursive: true });
const version = execFileSync("virsh", ["--version"], { encoding: "utf8" }).trim();
const body = results.map((r) => `  ${JSON.stringify(r)}`).join(",\n");
writeFileSync(`${dir}/golden/script.json`, `{"virsh": ${JSON.stringify(version)}, "entries": [\n${body}\n]}\n`);
console.log(`recorded ${results.length} entries with virsh ${version}`);
