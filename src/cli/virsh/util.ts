// Small shared pieces of virsh's command bodies: exclusive-option checks (VSH_EXCLUSIVE_OPTIONS),
// --config/--live/--current to VIR_DOMAIN_AFFECT_* flags, XML helpers and the $EDITOR round trip.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { checkExclusive } from "../../api/check.js";
import { ErrorDomain, isVirError, VirError } from "../../errors/index.js";
import { parseXml } from "../../xml/index.js";
import type { XmlElement } from "../../xml/index.js";
import type { ParsedCmd } from "./command.js";
import { CmdFailure } from "./control.js";
import { optBool } from "./options.js";

/** virshWatchJob with --verbose: the finished job's progress line on stderr (no newline). */
export function jobDone(ctl: { err: { write(s: string): unknown } }, label: string): void {
  ctl.err.write(`\r${label}: [100 %]`);
}

/** VSH_EXCLUSIVE_OPTIONS: "Options --a and --b are mutually exclusive". */
export function exclusive(cmd: ParsedCmd, a: string, b: string): void {
  if (optBool(cmd, a) && optBool(cmd, b))
    throw new CmdFailure(`Options --${a} and --${b} are mutually exclusive`);
}

/** VSH_REQUIRE_OPTION: "Option --a is required by option --b". */
export function requires(cmd: ParsedCmd, needed: string, by: string): void {
  if (optBool(cmd, by) && !optBool(cmd, needed))
    throw new CmdFailure(`Option --${needed} is required by option --${by}`);
}

/**
 * Throws `message` over libvirt's public-API refusal of AFFECT_LIVE with AFFECT_CONFIG: virsh's
 * first getter call (the one that counts the parameters) fails there, before any driver.
 */
export function liveConfigRefused(flags: number, message: string): void {
  try {
    checkExclusive(flags, 1, "VIR_DOMAIN_AFFECT_LIVE", 2, "VIR_DOMAIN_AFFECT_CONFIG", ErrorDomain.DOMAIN);
  } catch (e) {
    throw new CmdFailure(message, e);
  }
}

/** --current/--live/--config → VIR_DOMAIN_AFFECT_* (CURRENT=0, LIVE=1, CONFIG=2). */
export function affectFlags(cmd: ParsedCmd): number {
  exclusive(cmd, "current", "live");
  exclusive(cmd, "current", "config");
  let flags = 0;
  if (optBool(cmd, "config")) flags |= 2;
  if (optBool(cmd, "live")) flags |= 1;
  return flags;
}

export function parseDoc(xml: string): XmlElement {
  return parseXml(xml, {});
}

/** Text of every element along `path` ("devices/disk") under root. */
export function childrenAt(root: XmlElement, path: string): XmlElement[] {
  let cur: XmlElement[] = [root];
  for (const step of path.split("/")) {
    const next: XmlElement[] = [];
    for (const e of cur)
      for (const c of e.children) if (c.kind === "element" && c.name === step) next.push(c);
    cur = next;
  }
  return cur;
}

/**
 * virshEditFile: writes `text` to a temp file, runs $VISUAL/$EDITOR (default vi) on it, and
 * returns the edited text.
 */
export function editText(text: string, suffix = ".xml"): string {
  const dir = mkdtempSync(join(tmpdir(), "tsvirsh"));
  const file = join(dir, `edit${suffix}`);
  try {
    writeFileSync(file, text);
    const editor = process.env.VISUAL || process.env.EDITOR || "vi";
    const r = spawnSync("/bin/sh", ["-c", `${editor} ${file}`], { stdio: "inherit" });
    if (r.status !== 0) throw new CmdFailure(`${editor} ${file}: command failed`);
    return readFileSync(file, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs an API call that virsh makes through the flag-less libvirt function when it has no flags
 * (virDomainAttachDevice for virDomainAttachDeviceFlags …): tsvirt's API has the Flags form only,
 * so a refusal naming it (read-only, no driver support) is renamed to the function virsh called.
 */
export async function asFlagless<T>(
  flagless: boolean,
  flagsFn: string,
  fn: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (flagless && isVirError(e) && e.message.endsWith(flagsFn))
      throw new VirError({ ...e, message: e.message.slice(0, -flagsFn.length) + fn });
    throw e;
  }
}
