// qemu's QDict iteration order and JSON/human dumps of it. qemu-img prints --output=json objects
// (and "Format specific information") by walking a hash table of 512 buckets, so key order is
// a function of the key names: we reproduce that order to print byte-identical output. Also the
// key=value parsing of --object (secrets).

import { readFileSync } from "node:fs";
import { splitCommas } from "../../util/split-commas.js";

/** qemu's qobject/qdict.c tdb_hash (from Samba's tdb), 32-bit unsigned arithmetic. */
export function tdbHash(name: string): number {
  const bytes = Buffer.from(name, "utf8");
  let value = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    value = (value + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  }
  return (Math.imul(1103515243, value) + 12345) >>> 0;
}

const BUCKETS = 512;

/**
 * Keys in the order qemu iterates a QDict built by inserting `keys` in order: by bucket, and
 * within a bucket the most recently inserted first.
 */
export function qdictOrder(keys: string[]): string[] {
  const withIdx = keys.map((k, i) => ({ k, i, b: tdbHash(k) % BUCKETS }));
  withIdx.sort((x, y) => x.b - y.b || y.i - x.i);
  return withIdx.map((x) => x.k);
}

export type QValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | QValue[]
  | { [k: string]: QValue | undefined };

function isDict(v: unknown): v is Record<string, QValue | undefined> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function definedKeys(o: Record<string, QValue | undefined>): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined);
}

function scalar(v: QValue): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return v.toString();
  return String(v);
}

/** qobject_to_json_pretty(): 4-space indent, ": " after keys, qdict key order. */
export function toQemuJson(v: QValue, depth = 0): string {
  const pad = (d: number) => " ".repeat(4 * d);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[\n" + pad(depth) + "]";
    return (
      "[\n" + v.map((x) => pad(depth + 1) + toQemuJson(x, depth + 1)).join(",\n") + "\n" + pad(depth) + "]"
    );
  }
  if (isDict(v)) {
    const keys = qdictOrder(definedKeys(v));
    if (keys.length === 0) return "{\n" + pad(depth) + "}";
    return (
      "{\n" +
      keys.map((k) => `${pad(depth + 1)}${JSON.stringify(k)}: ${toQemuJson(v[k]!, depth + 1)}`).join(",\n") +
      "\n" +
      pad(depth) +
      "}"
    );
  }
  return scalar(v);
}

/** block/qapi.c dump_qobject(): the human "Format specific information" block. */
export function dumpHuman(v: QValue, indent: number, out: string[], prefix?: string): void {
  const pad = " ".repeat(indent * 4);
  const name = (k: string) => k.replace(/-/g, " ");
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (isDict(x) || Array.isArray(x)) {
        out.push(`${pad}[${i}]:`);
        dumpHuman(x, indent + 1, out);
      } else out.push(`${pad}[${i}]: ${humanScalar(x)}`);
    });
    return;
  }
  if (isDict(v)) {
    for (const k of qdictOrder(definedKeys(v))) {
      const x = v[k]!;
      if (isDict(x) || Array.isArray(x)) {
        out.push(`${pad}${name(k)}:`);
        dumpHuman(x, indent + 1, out);
      } else out.push(`${pad}${name(k)}: ${humanScalar(x)}`);
    }
    return;
  }
  out.push(`${pad}${prefix ?? ""}${humanScalar(v)}`);
}

function humanScalar(v: QValue): string {
  if (typeof v === "string") return v;
  return String(v);
}

// ---- --object (qemu's user_creatable_process_cmdline) ----

/** What qemu-img lists for `--object help`. */
const CREATABLE = [
  "authz-list",
  "authz-list-file",
  "authz-simple",
  "main-loop",
  "pr-manager-helper",
  "secret",
  "secret_keyring",
  "thread-context",
  "throttle-group",
  "tls-cipher-suites",
  "tls-creds-anon",
  "tls-creds-psk",
  "tls-creds-x509",
];

/** Object types qemu-img knows by name but does not create (qemu's "invalid object type"). */
const NOT_CREATABLE = new Set([
  "can-bus",
  "cryptodev-backend",
  "cryptodev-backend-builtin",
  "iothread",
  "pef-guest",
  "rng-builtin",
  "rng-random",
  "s390-pv-guest",
]);

/** Other types qemu-img creates, with the complaint an object given only an id gets. */
const FIRST_MISSING: Record<string, string | undefined> = {
  "authz-listfile": "Parameter 'filename' is missing",
  "authz-pam": "Parameter 'service' is missing",
  "authz-simple": "Parameter 'identity' is missing",
  "can-host-socketcan": "Parameter 'if' is missing",
  "colo-compare": "Parameter 'primary_in' is missing",
  "cryptodev-vhost-user": "Parameter 'chardev' is missing",
  "dbus-vmstate": "Parameter 'addr' is missing",
  "filter-buffer": "Parameter 'netdev' is missing",
  "filter-dump": "Parameter 'netdev' is missing",
  "filter-mirror": "Parameter 'netdev' is missing",
  "filter-redirector": "Parameter 'netdev' is missing",
  "filter-replay": "Parameter 'netdev' is missing",
  "filter-rewriter": "Parameter 'netdev' is missing",
  "input-barrier": "Parameter 'name' is missing",
  "input-linux": "Parameter 'evdev' is missing",
  "memory-backend-epc": "Parameter 'size' is missing",
  "memory-backend-file": "Parameter 'size' is missing",
  "memory-backend-memfd": "Parameter 'size' is missing",
  "memory-backend-ram": "Parameter 'size' is missing",
  "pr-manager-helper": "Parameter 'path' is missing",
  qtest: "Parameter 'chardev' is missing",
  "rng-egd": "Parameter 'chardev' is missing",
  secret_keyring: "Parameter 'serial' is missing",
  "sev-guest": "Parameter 'reduced-phys-bits' is missing",
  "tls-cipher-suites": "'priority' property is not set",
  "tls-creds-psk": "Missing 'dir' property value",
  "tls-creds-x509": "Missing 'dir' property value",
  "x-remote-object": "Parameter 'fd' is missing",
  "x-vfio-user-server": "Parameter 'socket' is missing",
};
const ACCEPTED = new Set(["authz-list", "main-loop", "thread-context", "throttle-group", "tls-creds-anon"]);

/** Secrets defined by --object secret,id=…, by id. */
export type Secrets = Record<string, Uint8Array>;

/** The outcome of one --object: an error text, help to print (exit 0), or nothing to report. */
export type ObjectResult = { error: string } | { help: string } | undefined;

/**
 * Processes one `--object` argument as qemu-img does, adding a secret to `secrets`. `readFile`
 * reads a secret's file= (its error text is qemu's).
 */
export function processObject(
  text: string,
  secrets: Secrets,
  readFile: (path: string) => Uint8Array | { error: string },
): ObjectResult {
  const kv = new Map<string, string>();
  let help = false;
  splitCommas(text).forEach((p, i) => {
    const eq = p.indexOf("=");
    if (eq >= 0) kv.set(p.slice(0, eq), p.slice(eq + 1));
    else if (p === "help" || p === "?") help = true;
    else if (i === 0) kv.set("qom-type", p);
    else kv.set(p, "\0noeq");
  });
  const type = kv.get("qom-type");
  const list = () => `List of user creatable objects:\n${CREATABLE.map((t) => `  ${t}\n`).join("")}`;
  if (type === "help" || type === "?") return { help: list() };
  if (help) {
    if (type === "secret")
      return {
        help: "secret options:\n  data=<string>\n  file=<string>\n  format=<QCryptoSecretFormat>\n  iv=<string>\n  keyid=<string>\n",
      };
    return { help: list() };
  }
  for (const [k, v] of kv) if (v === "\0noeq") return { error: `Expected '=' after parameter '${k}'` };
  if (type === undefined || type === "") return { error: "Parameter 'qom-type' is missing" };
  const known = type === "secret" || NOT_CREATABLE.has(type) || ACCEPTED.has(type) || type in FIRST_MISSING;
  if (!known) return { error: `Parameter 'qom-type' does not accept value '${type}'` };
  const id = kv.get("id");
  if (id === undefined) return { error: "Parameter 'id' is missing" };
  if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(id))
    return {
      error:
        "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.",
    };
  if (NOT_CREATABLE.has(type)) return { error: `invalid object type: ${type}` };
  if (type !== "secret") {
    const missing = FIRST_MISSING[type];
    return missing ? { error: missing } : undefined;
  }
  for (const k of kv.keys())
    if (!["qom-type", "id", "data", "file", "format", "iv", "keyid"].includes(k))
      return { error: `Parameter '${k}' is unexpected` };
  const format = kv.get("format") ?? "raw";
  if (format !== "raw" && format !== "base64")
    return { error: `Parameter 'format' does not accept value '${format}'` };
  const data = kv.get("data");
  const file = kv.get("file");
  if (data !== undefined && file !== undefined) return { error: "'file' and 'data' are mutually exclusive" };
  if (data === undefined && file === undefined) return { error: "Either 'file' or 'data' must be provided" };
  let bytes: Uint8Array;
  if (file !== undefined) {
    const r = readFile(file);
    if ("error" in r) return r;
    bytes = r;
  } else bytes = Buffer.from(data!, "utf8");
  if (format === "base64") bytes = Buffer.from(Buffer.from(bytes).toString("latin1"), "base64");
  const keyid = kv.get("keyid");
  if (keyid !== undefined && secrets[keyid] === undefined) return { error: `No secret with id '${keyid}'` };
  if (keyid !== undefined) return { error: "secrets encrypted with keyid are not supported" };
  if (secrets[id] !== undefined)
    return { error: `attempt to add duplicate property '${id}' to object (type 'container')` };
  secrets[id] = bytes;
  return undefined;
}

/**
 * Every --object of a command line, in order: a bad one ends the command with qemu's message,
 * help ends it with exit 0 after printing. Returns the secrets defined.
 */
export function cliObjects(
  values: string[],
  out: (s: string) => void,
  fail: (message: string, code: number) => Error,
  secrets: Secrets = {},
): Secrets {
  for (const v of values) {
    const r = processObject(v, secrets, (path) => {
      try {
        return readFileSync(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why =
          code === "ENOENT"
            ? "No such file or directory"
            : code === "EACCES"
              ? "Permission denied"
              : code === "EISDIR"
                ? "Is a directory"
                : String((e as Error).message);
        const verb = code === "EISDIR" ? "read from" : "open";
        return { error: `Unable to read ${path}: Failed to ${verb} file \u201c${path}\u201d: ${why}` };
      }
    });
    if (r && "help" in r) {
      out(r.help);
      throw fail("", 0);
    }
    if (r) throw fail(r.error, 1);
  }
  return secrets;
}

/** An --image-opts string as the path, format and driver options it names. */
export function parseImageOpts(
  spec: string,
  fail: (message: string) => Error,
): { path: string; format?: string; options: Record<string, string> } {
  const options: Record<string, string> = {};
  let path: string | undefined;
  let format: string | undefined;
  for (const part of splitCommas(spec)) {
    const eq = part.indexOf("=");
    // QemuOpts' implied key of the block layer is a device name, which qemu-img has none of.
    if (eq < 0) throw fail(`Could not open '${spec}': Cannot find device='${part}' nor node-name='${part}'`);
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (k === "driver") format = v;
    else if (k === "file.filename" || k === "file") path = v;
    else if (k !== "file.driver") options[k] = v;
  }
  if (path === undefined) throw fail(`Could not open '${spec}': A block device must be specified for "file"`);
  return { path, format, options };
}

/**
 * A "json:{...}" filename as qemu's bdrv_open takes it: the object's members flattened to dotted
 * keys (file.filename, driver, encrypt.key-secret, …), then read as --image-opts are. Undefined
 * when the text after "json:" is not a JSON object (the caller reports the parse error).
 */
export function parseJsonFilename(
  name: string,
  fail: (message: string) => Error,
): { path: string; format?: string; options: Record<string, string> } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(name.slice(5));
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const flat: string[] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === "object" && x !== null && !Array.isArray(x))
        walk(x as Record<string, unknown>, `${prefix}${k}.`);
      else flat.push(`${prefix}${k}=${String(x).replaceAll(",", ",,")}`);
    }
  };
  walk(v as Record<string, unknown>, "");
  try {
    return parseImageOpts(flat.join(","), fail);
  } catch {
    throw fail(`Could not open '${name}': A block device must be specified for "file"`);
  }
}
