#!/usr/bin/env node
// Finds virsh 9.0's hidden option aliases (VSH_OT_ALIAS, never shown by help) by asking real virsh
// whether it accepts candidate spellings: "--a_b" for every "--a-b" and "--persistent" wherever
// "--config" exists. Writes scripts/oracle/virsh-defs-overrides.json for virsh-defs.mjs.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const help = spawnSync("virsh", ["help"], { encoding: "utf8" }).stdout;
const cmds = [...help.matchAll(/^ {4}(\S+) {2,}/gm)].map((m) => m[1]);
const out = {};
for (const c of cmds) {
  const h = spawnSync("virsh", ["help", c], { encoding: "utf8" }).stdout;
  const opts = [...h.slice(h.indexOf("OPTIONS")).matchAll(/^ {4}\[?--([a-z0-9-]+)/gm)].map((m) => m[1]);
  const cands = [];
  for (const o of opts) if (o.includes("-")) cands.push([o.replaceAll("-", "_"), o]);
  if (opts.includes("config") && !opts.includes("persistent")) cands.push(["persistent", "config"]);
  for (const [alias, target] of cands) {
    const r = spawnSync("virsh", ["-c", "test:///default", `${c} --${alias}=x`], { encoding: "utf8", timeout: 4000 });
    if (!/doesn't support option/.test(r.stderr ?? "")) (out[c] ??= { aliases: [] }).aliases.push([alias, target]);
  }
}
const prev = JSON.parse(readFileSync(new URL("./virsh-defs-overrides.json", import.meta.url), "utf8").toString() || "{}");
for (const [c, v] of Object.entries(prev)) if (v.flags) (out[c] ??= { aliases: [] }).flags = v.flags;
writeFileSync(new URL("./virsh-defs-overrides.json", import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
console.log(`${Object.values(out).reduce((n, v) => n + v.aliases.length, 0)} aliases in ${Object.keys(out).length} commands`);
