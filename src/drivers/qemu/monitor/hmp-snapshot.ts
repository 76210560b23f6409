// Internal snapshots of a running QEMU through HMP (savevm / loadvm / delvm sent with QMP's
// human-monitor-command), as libvirt 9.0 drives them with QEMU 7.2. HMP reports failure only
// as text in the reply; this module maps that text to libvirt's error codes and wording
// (qemu_monitor_text.c). It does not pause or resume the guest: callers do.
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../../errors/index.js";
import type { QmpClient } from "./qmp-client.js";

/** savevm writes the whole guest RAM into the image: no monitor timeout (libvirt has none). */
const NO_TIMEOUT = 0;

/** An HMP string argument: double-quoted with backslash escapes (libvirt's qemuMonitorEscapeArg). */
export function hmpQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else out += ch;
  }
  return `${out}"`;
}

async function hmp(mon: QmpClient, line: string): Promise<string> {
  const reply = await mon.execute<string>("human-monitor-command", { "command-line": line }, NO_TIMEOUT);
  return typeof reply === "string" ? reply.trim() : "";
}

const failed = (msg: string): VirError => virError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, msg);
const invalid = (msg: string): VirError => virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, msg);

/** `savevm NAME`: disks of every writable qcow2 device plus the VM state into the first one. */
export async function hmpSaveVm(mon: QmpClient, name: string): Promise<void> {
  const reply = await hmp(mon, `savevm ${hmpQuote(name)}`);
  if (reply === "") return;
  if (reply.includes("No block device can accept snapshots"))
    throw invalid("this domain does not have a device to take snapshots");
  // QEMU 7.2 prints "Error: ..." for every other failure (a raw disk, a blocker, I/O errors).
  throw failed(`Failed to take snapshot: ${reply}`);
}

/** `loadvm NAME`: the guest must be stopped; it stays stopped afterwards. */
export async function hmpLoadVm(mon: QmpClient, name: string): Promise<void> {
  const reply = await hmp(mon, `loadvm ${hmpQuote(name)}`);
  if (reply === "") return;
  if (reply.includes("No block device supports snapshots"))
    throw invalid("this domain does not have a device to load snapshots");
  if (reply.includes("Could not find snapshot") || reply.includes("does not have the requested snapshot"))
    throw invalid(`the snapshot '${name}' does not exist, and was not loaded`);
  throw failed(`Failed to load snapshot: ${reply}`);
}

/** `delvm NAME`: drops the internal snapshot from every device that has it. */
export async function hmpDelVm(mon: QmpClient, name: string): Promise<void> {
  const reply = await hmp(mon, `delvm ${hmpQuote(name)}`);
  if (reply === "") return;
  if (reply.includes("No block device supports snapshots"))
    throw invalid("this domain does not have a device to delete snapshots");
  if (reply.includes("Snapshots not supported on device")) throw invalid(reply);
  throw failed(`Failed to delete snapshot: ${reply}`);
}
