// Runs each entry of tests/data/virsh/script.txt through real virsh as if the whole script were one
// session on test:///default, and records each entry's own stdout, stderr and exit status.
//
// test:///default state lives only inside one virsh process, so entry k is recorded by ONE process:
//   virsh -c test:///default "<entries 1..k-1 that parse>\necho __M__\necho --err __M__\n<entry k>"
// Newline separates commands in virsh's string grammar (and ends '#' comments). Entries that fail to
// parse are left out of later prefixes (virsh runs nothing of a line that does not parse). The text
// after the markers is entry k's output; the exit status is that of its last command (vshCommandRun).
// If entry k itself does not parse, the whole string fails: its parse error is all there is.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const dir = "tests/data/virsh";
const env = { ...process.env, LC_ALL: "C", LANG: "C", EDITOR: "true", VISUAL: "true" };
delete env.LIBVIRT_DEFAULT_URI;
delete env.VIRSH_DEFAULT_CONNECT_URI;
const entries = readFileSync(`${dir}/script.txt`, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));

// virsh 9.0 sometimes hangs in its job-watch loop (managedsave on test:///default): retry on timeout.
function virsh(cmd) {
  for (let attempt = 0; attempt < 8; attempt++) {
    const r = spawnSync("virsh", ["-c", "test:///default", cmd], { cwd: dir, env, encoding: "utf8", timeout: 4000 });
    if (r.status !== null) return r;
  }
  throw new Error(`virsh kept hanging on: ${cmd.split("\n").at(-1)}`);
}

const parses = entries.map((line) => {
  const r = virsh(`echo __P__\n${line}`);
  return r.stdout.startsWith("__P__");
});

const results = [];
const M = "__M__";
entries.forEach((line, k) => {
  const prefix = entries.slice(0, k).filter((_, j) => parses[j]);
  const r = virsh([...prefix, `echo ${M}`, `echo --err ${M}`, line].join("\n"));
  let stdout = r.stdout;
  let stderr = r.stderr;
  if (parses[k]) {
    const o = stdout.indexOf(`${M}\n\n`);
    const e = stderr.indexOf(`error: ${M}\n`);
    if (o < 0 || e < 0) throw new Error(`entry ${k + 1} (${line}): markers not found`);
    stdout = stdout.slice(o + M.length + 2);
    stderr = stderr.slice(e + M.length + 8);
  }
  results.push({ n: k + 1, line, parses: parses[k], stdout, stderr, status: r.status });
});

mkdirSync(`${dir}/golden`, { recursive: true });
const version = execFileSync("virsh", ["--version"], { encoding: "utf8" }).trim();
const body = results.map((r) => `  ${JSON.stringify(r)}`).join(",\n");
writeFileSync(`${dir}/golden/script.json`, `{"virsh": ${JSON.stringify(version)}, "entries": [\n${body}\n]}\n`);
console.log(`recorded ${results.length} entries with virsh ${version}`);
