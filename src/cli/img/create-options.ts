// qemu-img's -o option lists per format: which keys exist, their help text, defaults, and the
// order qemu prints them in the "Formatting 'x', fmt=…" line (create_opts order after merging).

import { writeFile } from "node:fs/promises";
import { CliError, type Out } from "./context.js";
import { strtosz } from "./units.js";

export interface OptDesc {
  name: string;
  type: "size" | "str" | "bool" | "num";
  help: string;
  def?: string;
}

const size: OptDesc = { name: "size", type: "size", help: "Virtual disk size" };
const backingFile: OptDesc = { name: "backing_file", type: "str", help: "File name of a base image" };

export const CREATE_OPTIONS: Record<string, OptDesc[]> = {
  raw: [
    size,
    { name: "preallocation", type: "str", help: "Preallocation mode (allowed values: off, falloc, full)" },
  ],
  qcow2: [
    // qemu prints the encryption options first in its Formatting line.
    {
      name: "encryption",
      type: "bool",
      help: "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)",
    },
    { name: "encrypt.format", type: "str", help: "Encrypt the image, format choices: 'aes', 'luks'" },
    {
      name: "encrypt.key-secret",
      type: "str",
      help: "ID of secret providing qcow AES key or LUKS passphrase",
    },
    { name: "encrypt.cipher-alg", type: "str", help: "Name of encryption cipher algorithm" },
    { name: "encrypt.cipher-mode", type: "str", help: "Name of encryption cipher mode" },
    { name: "encrypt.ivgen-alg", type: "str", help: "Name of IV generator algorithm" },
    { name: "encrypt.ivgen-hash-alg", type: "str", help: "Name of IV generator hash algorithm" },
    { name: "encrypt.hash-alg", type: "str", help: "Name of encryption hash algorithm" },
    { name: "encrypt.iter-time", type: "num", help: "Time to spend in PBKDF in milliseconds" },
    { name: "cluster_size", type: "size", help: "qcow2 cluster size", def: "65536" },
    { name: "extended_l2", type: "bool", help: "Extended L2 tables", def: "off" },
    {
      name: "preallocation",
      type: "str",
      help: "Preallocation mode (allowed values: off, metadata, falloc, full)",
    },
    {
      name: "compression_type",
      type: "str",
      help: "Compression method used for image cluster compression",
      def: "zlib",
    },
    size,
    { name: "compat", type: "str", help: "Compatibility level (v2 [0.10] or v3 [1.1])" },
    backingFile,
    { name: "backing_fmt", type: "str", help: "Image format of the base image" },
    { name: "data_file", type: "str", help: "File name of an external data file" },
    { name: "data_file_raw", type: "bool", help: "The external data file must stay valid as a raw image" },
    { name: "lazy_refcounts", type: "bool", help: "Postpone refcount updates", def: "off" },
    { name: "refcount_bits", type: "num", help: "Width of a reference count entry in bits", def: "16" },
  ],
  vmdk: [
    size,
    {
      name: "adapter_type",
      type: "str",
      help: "Virtual adapter type, can be one of ide (default), lsilogic, buslogic or legacyESX",
    },
    backingFile,
    { name: "backing_fmt", type: "str", help: "Must be 'vmdk' if present" },
    { name: "compat6", type: "bool", help: "VMDK version 6 image", def: "off" },
    { name: "hwversion", type: "str", help: "VMDK hardware version", def: "undefined" },
    { name: "toolsversion", type: "str", help: "VMware guest tools version" },
    {
      name: "subformat",
      type: "str",
      help: "VMDK flat extent format, can be one of {monolithicSparse (default) | monolithicFlat | twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized} ",
    },
    {
      name: "zeroed_grain",
      type: "bool",
      help: "Enable efficient zero writes using the zeroed-grain GTE feature",
    },
  ],
  vdi: [size, { name: "static", type: "bool", help: "VDI static (pre-allocated) image", def: "off" }],
  qcow: [
    size,
    backingFile,
    { name: "backing_fmt", type: "str", help: "Format of the backing image" },
    {
      name: "encryption",
      type: "bool",
      help: "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)",
    },
    { name: "encrypt.format", type: "str", help: "Encrypt the image, format choices: 'aes'" },
    {
      name: "encrypt.key-secret",
      type: "str",
      help: "ID of the secret that provides the AES encryption key",
    },
  ],
  cow: [
    size,
    backingFile,
    { name: "backing_fmt", type: "str", help: "Format of the backing image" },
    { name: "version", type: "num", help: "COW version (2 or 3)" },
    { name: "alignment", type: "num", help: "COW v3 data alignment" },
  ],
};

/** qemu-img amend -o help: the options qcow2 can change in place (qcow2_amend_opts). */
export const AMEND_OPTIONS: Record<string, OptDesc[]> = {
  qcow2: [
    { name: "backing_file", type: "str", help: "File name of a base image" },
    { name: "backing_fmt", type: "str", help: "Image format of the base image" },
    { name: "compat", type: "str", help: "Compatibility level (v2 [0.10] or v3 [1.1])" },
    { name: "data_file", type: "str", help: "File name of an external data file" },
    { name: "data_file_raw", type: "bool", help: "The external data file must stay valid as a raw image" },
    { name: "encrypt.iter-time", type: "num", help: "Time to spend in PBKDF in milliseconds" },
    { name: "encrypt.keyslot", type: "num", help: "Select a single keyslot to modify explicitly" },
    {
      name: "encrypt.new-secret",
      type: "str",
      help: "New secret to set in the matching keyslots. Empty string to erase",
    },
    { name: "encrypt.old-secret", type: "str", help: "Select all keyslots that match this password" },
    { name: "encrypt.state", type: "str", help: "Select new state of affected keyslots (active/inactive)" },
    { name: "lazy_refcounts", type: "bool", help: "Postpone refcount updates" },
    { name: "refcount_bits", type: "num", help: "Width of a reference count entry in bits" },
    { name: "size", type: "size", help: "Virtual disk size" },
  ],
};

export function amendHelp(fmt: string): string | undefined {
  const list = AMEND_OPTIONS[fmt];
  if (!list) return undefined;
  return `Amend options for '${fmt}':\n${list.map((o) => optLine(o)).join("\n")}\n`;
}

function optLine(o: OptDesc): string {
  const t = o.type === "bool" ? "bool (on/off)" : o.type;
  return `${`  ${o.name}=<${t}>`.padEnd(24)} - ${o.help}`;
}

/** Splits "a=1,b=2" honouring qemu's ",," escape; a bare key means key=on. */
export function parseOptionString(s: string): [string, string][] {
  const out: [string, string][] = [];
  let cur = "";
  const parts: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ",") {
      if (s[i + 1] === ",") {
        cur += ",";
        i++;
      } else {
        parts.push(cur);
        cur = "";
      }
    } else cur += c;
  }
  parts.push(cur);
  for (const p of parts) {
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq < 0) out.push([p, "on"]);
    else out.push([p.slice(0, eq), p.slice(eq + 1)]);
  }
  return out;
}

/** qemu_opts_print_help() for `-o help`. */
export function optionsHelp(fmt: string): string {
  // raw's preallocation is the file protocol's: listed only with a filename, as qemu's.
  const list = [...(CREATE_OPTIONS[fmt] ?? [])]
    .filter((o) => fmt !== "raw" || o.name !== "preallocation")
    .sort((a, b) => a.name.localeCompare(b.name));
  const tname = (t: OptDesc["type"]) => (t === "bool" ? "bool (on/off)" : t === "num" ? "num" : t);
  const lines = list.map((o) => {
    const left = `  ${o.name}=<${tname(o.type)}>`;
    return `${left.padEnd(24)} - ${o.help}`;
  });
  return `Supported ${fmt} options:\n${lines.join("\n")}\n\nThe protocol level may support further options.\nSpecify the target filename to include those options.\n`;
}

/** The file protocol's own creation options, merged in when a target filename is known. */
const FILE_PROTOCOL_OPTIONS: OptDesc[] = [
  { name: "extent_size_hint", type: "size", help: "Extent size hint for the image file, 0 to disable" },
  { name: "nocow", type: "bool", help: "Turn off copy-on-write (valid only on btrfs)" },
  { name: "preallocation", type: "str", help: "Preallocation mode (allowed values: off, falloc, full)" },
  size,
];

/** `-o help` with a filename: format and protocol options together (qemu_opts_append order rules). */
export function optionsHelpWithProtocol(fmt: string): string {
  const list = [...(CREATE_OPTIONS[fmt] ?? [])];
  for (const o of FILE_PROTOCOL_OPTIONS) if (!list.some((x) => x.name === o.name)) list.push(o);
  list.sort((a, b) => a.name.localeCompare(b.name));
  return `Supported options:\n${list.map((o) => optLine(o)).join("\n")}\n`;
}

/** The "fmt=… size=… …" tail of qemu-img's Formatting line. */
export function formattingLine(filename: string, fmt: string, opts: Record<string, string>): string {
  const parts = [`fmt=${fmt}`];
  for (const o of createOptionsWithProtocol(fmt)) {
    let v = opts[o.name] ?? o.def;
    // (qemu prints a size option as a signed 64-bit number: 2^63 and up come out negative.)
    if (v !== undefined && o.type === "size" && o.name !== "size" && /^\d{19,}$/.test(v))
      v = BigInt.asIntN(64, BigInt(v)).toString();
    if (v !== undefined) parts.push(`${o.name}=${v}`);
  }
  return `Formatting '${filename}', ${parts.join(" ")}\n`;
}

/**
 * What qemu-img create accepts for a format: its own options, then the file protocol's that it
 * lacks (qemu_opts_append order: nocow, preallocation, extent_size_hint).
 */
export function createOptionsWithProtocol(fmt: string): OptDesc[] {
  const own = CREATE_OPTIONS[fmt] ?? [];
  const proto = ["nocow", "preallocation", "extent_size_hint"]
    .map((n) => FILE_PROTOCOL_OPTIONS.find((o) => o.name === n)!)
    .filter((o) => !own.some((x) => x.name === o.name));
  return [...own, ...proto];
}

/**
 * qemu's QemuOpts value check for one -o option ("prefix" is "filename: " for create): booleans
 * on/off, numbers as strtoull base 0 (normalised), sizes by qemu_strtosz (in bytes, except
 * "size" which stays as given). Returns the value to use.
 */
export function checkOptionValue(d: OptDesc, v: string, prefix: string, io?: Out): string {
  const k = d.name;
  if (d.type === "bool") {
    // (qapi_bool_parse's spellings; the Formatting line keeps the one given.)
    if (!["on", "yes", "true", "y", "off", "no", "false", "n"].includes(v))
      throw new CliError(`${prefix}Parameter '${k}' expects 'on' or 'off'`);
    return v;
  }
  if (d.type === "num") {
    const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(v);
    if (!m) throw new CliError(`${prefix}Parameter '${k}' expects a number`);
    const digits = m[2]!;
    const n = BigInt(/^0[0-7]/.test(digits) ? `0o${digits.slice(1)}` : digits);
    return BigInt.asIntN(64, m[1] === "-" ? -n : n).toString();
  }
  if (d.type === "size") {
    const r = strtosz(v);
    if (r.warning) io?.err(`tsvirt-img: warning: ${r.warning}\n`);
    if (r.error === "ERANGE")
      throw new CliError(`${prefix}Value '${v}' is out of range for parameter '${k}'`);
    if (r.value === undefined) {
      throw new CliError(
        `${prefix}Parameter '${k}' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.`,
      );
    }
    return k === "size" ? v : r.value.toString();
  }
  return v;
}

/**
 * Create failures that qemu reports only after its file protocol made the file: the empty file
 * stays behind (qcow's size and secret checks, a bad preallocation mode for the protocol).
 */
export async function leaveEmptyFileIfQemuDoes(path: string, fmt: string, message: string): Promise<void> {
  const late =
    (fmt === "qcow" &&
      /cannot be zero length|encrypt\.key-secret|No secret with id|encryption format|'format' does not accept/.test(
        message,
      )) ||
    (fmt === "vdi" && /Unsupported VDI image size/.test(message)) ||
    /Unsupported preallocation mode/.test(message);
  if (late) await writeFile(path, "").catch(() => {});
}

/** The file protocol's create opens with O_CREAT: its failure reads "Could not create", as qemu's. */
export function createFailureText(path: string, message: string): string {
  const open = `Could not open '${path}': `;
  return message.startsWith(open) ? `Could not create '${path}': ${message.slice(open.length)}` : message;
}

/** The order in which qemu 7.2 names a LUKS-only option left over for AES (found by trying). */
const AES_UNEXPECTED_ORDER = [
  "cipher-alg",
  "iter-time",
  "cipher-mode",
  "ivgen-alg",
  "hash-alg",
  "ivgen-hash-alg",
];

/**
 * qcow2 with AES encryption (encryption=on or encrypt.format=aes) takes no other encrypt.*
 * option than key-secret: qemu refuses the first left over (in its own order) as
 * "Parameter 'encrypt.<name>' is unexpected". Undefined when there is none.
 */
export function aesUnexpected(fmt: string, options: Record<string, string>): string | undefined {
  if (fmt !== "qcow2") return undefined;
  const enc = options["encrypt.format"];
  if (!(enc === "aes" || (enc === undefined && ["on", "true", "yes"].includes(options.encryption ?? ""))))
    return undefined;
  const extra = AES_UNEXPECTED_ORDER.find((k) => options[`encrypt.${k}`] !== undefined);
  return extra === undefined ? undefined : `Parameter 'encrypt.${extra}' is unexpected`;
}

/**
 * An -o argument as qemu-img's is_valid_option_list() accepts it: not empty, not starting with a
 * comma, not ending in an odd number of commas (",," is an escaped comma).
 */
export function checkOptionList(v: string): void {
  let tail = 0;
  while (tail < v.length && v[v.length - 1 - tail] === ",") tail++;
  if (v === "" || v[0] === "," || tail % 2 === 1) throw new CliError(`Invalid option list: ${v}`);
}
