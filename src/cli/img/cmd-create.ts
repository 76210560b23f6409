// `tsvirt-img create [-q] [-f fmt] [-b backing [-F fmt]] [-u] [-o options] filename [size]`.

import { isAbsolute } from "node:path";
import { createImage, ImageError, openImage } from "../../image/index.js";
import { CliError, errText, fromUsage, isDirectory, type Out, pathCombine, showHelp } from "./context.js";
import {
  aesUnexpected,
  checkOptionList,
  checkOptionValue,
  CREATE_OPTIONS,
  createFailureText,
  createOptionsWithProtocol,
  formattingLine,
  leaveEmptyFileIfQemuDoes,
  optionsHelp,
  optionsHelpWithProtocol,
  parseOptionString,
} from "./create-options.js";
import { getopt, HelpRequest } from "./getopt.js";
import { cliObjects } from "./qdict.js";
import { strtosz } from "./units.js";

export function sizeError(): CliError {
  return new CliError(
    "Invalid image size specified. You may use k, M, G, T, P or E suffixes for\ntsvirt-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.",
  );
}

/**
 * Parses a create size argument with qemu-img's messages (and its hex-suffix warning). Sizes past
 * 2^53 come back exact (bigint): the formats refuse them once the Formatting line is out.
 */
export function createSize(text: string, io?: Out): number | bigint {
  const r = strtosz(text);
  if (r.warning) io?.err(`tsvirt-img: warning: ${r.warning}\n`);
  const v = r.value;
  if (r.error === "EINVAL") throw sizeError();
  if (v === undefined || v > 0x7fffffffffffffffn)
    throw new CliError("Invalid image size specified. Must be between 0 and 9223372036854775807.");
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? v : Number(v);
}

/**
 * A size past 2^53 after the Formatting line: each format's refusal, as qemu's create words it;
 * undefined where qemu's create succeeds (and the file is written).
 */
async function hugeSize(
  filename: string,
  fmt: string,
  v: bigint,
  options: Record<string, string>,
): Promise<CliError | undefined> {
  const empty = async () => (await import("node:fs/promises")).writeFile(filename, "").catch(() => {});
  const plain = Object.keys(options).every((k) => k === "size");
  // qemu's qcow create keeps the L1 size in an int: past 2^53 its low 32 bits are 0 or
  // negative for most sizes, and only the 48-byte header is written (4 KiB clusters, 512-entry
  // L2 tables, the L1 table right after the header).
  if (fmt === "qcow" && plain && BigInt.asIntN(32, (v + (1n << 21n) - 1n) >> 21n) <= 0n) {
    const h = Buffer.alloc(48);
    h.writeUInt32BE(0x514649fb, 0);
    h.writeUInt32BE(1, 4);
    h.writeBigUInt64BE(v, 24);
    h[32] = 12;
    h[33] = 9;
    h.writeBigUInt64BE(48n, 40);
    try {
      await (await import("node:fs/promises")).writeFile(filename, h);
    } catch (e) {
      return new CliError(`${filename}: Could not create '${filename}': ${errText(e)}`);
    }
    return undefined;
  }
  if (fmt === "qcow2")
    return new CliError(
      `${filename}: The image size is too large for file format 'qcow2' (try using a larger cluster size)`,
    );
  if (fmt === "raw") {
    await empty();
    return new CliError(`${filename}: The image size is too large for file format 'raw'`);
  }
  if (fmt === "vdi") {
    await empty();
    const bytes = ((v + 511n) / 512n) * 512n;
    return new CliError(
      `${filename}: Unsupported VDI image size (size is 0x${bytes.toString(16)}, max supported is 0x1fffff8000000)`,
    );
  }
  // (qemu's qcow and vmdk create such images; these are not made here.)
  return new CliError(`${filename}: Image size too large`);
}

export async function cmdCreate(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "F:b:f:ho:qu",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
      ],
      "create",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt = "raw";
  let backing: string | undefined;
  let backingFmt: string | undefined;
  let quiet = false;
  let unsafe = false;
  const optStrings: string[] = [];
  const objects: string[] = [];
  for (const [k, v] of p.opts) {
    if (k === "object") objects.push(v);
    else if (k === "f") fmt = v;
    else if (k === "b") backing = v;
    else if (k === "F") backingFmt = v;
    else if (k === "o") {
      checkOptionList(v);
      optStrings.push(v);
    } else if (k === "q") quiet = true;
    else if (k === "u") unsafe = true;
  }
  const secrets = cliObjects(objects, io.out, (m, code) => new CliError(m || undefined, code));
  if (optStrings.flatMap(parseOptionString).some(([k]) => k === "help" || k === "?")) {
    if (!CREATE_OPTIONS[fmt]) throw new CliError(`Unknown file format '${fmt}'`);
    // With a filename qemu lists the protocol's options too, under a plain heading.
    io.out(p.args[0] !== undefined ? optionsHelpWithProtocol(fmt) : optionsHelp(fmt));
    return 0;
  }
  const filename = p.args[0];
  if (filename === undefined)
    throw new CliError("Expecting image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  // The size argument is parsed before extra arguments and before the format and options are
  // looked at (qemu's img_create).
  const sizeArg = p.args[1] !== undefined ? createSize(p.args[1], io) : undefined;
  if (p.args.length > 2)
    throw new CliError(
      "Unexpected argument: " + p.args[2],
      1,
      "Try 'tsvirt-img --help' for more information\n",
    );
  const descs = CREATE_OPTIONS[fmt];
  if (!descs) throw new CliError(`${filename}: Unknown file format '${fmt}'`);
  const pairs = optStrings.flatMap(parseOptionString);
  if (pairs.some(([k]) => k === "help" || k === "?")) {
    io.out(optionsHelp(fmt));
    return 0;
  }
  const options: Record<string, string> = {};
  const accepted = createOptionsWithProtocol(fmt);
  for (const [k, v] of pairs) {
    const d = accepted.find((x) => x.name === k);
    if (!d) throw new CliError(`${filename}: Invalid parameter '${k}'`);
    options[k] = checkOptionValue(d, v, `${filename}: `, io);
  }
  if (backing !== undefined) {
    if (!descs.some((d) => d.name === "backing_file"))
      throw new CliError(`${filename}: Backing file not supported for file format '${fmt}'`);
    options.backing_file = backing;
  }
  if (backingFmt !== undefined) {
    if (!descs.some((d) => d.name === "backing_fmt"))
      throw new CliError(`${filename}: Backing file format not supported for file format '${fmt}'`);
    options.backing_fmt = backingFmt;
  }
  // bdrv_img_create's checks of the backing file name.
  if (options.backing_file !== undefined) {
    if (options.backing_file === filename)
      throw new CliError(
        `${filename}: Error: Trying to create an image with the same filename as the backing file`,
      );
    if (options.backing_file === "")
      throw new CliError(`${filename}: Expected backing file name, got empty string`);
  }
  let size: number | undefined;
  if (p.args[1] !== undefined && options.size !== undefined)
    throw new CliError(`${filename}: The image size must be specified only once`);
  const given = sizeArg ?? (options.size !== undefined ? createSize(options.size) : undefined);
  const huge = typeof given === "bigint" ? given : undefined;
  if (given !== undefined) size = Number(given);
  delete options.size;
  const bf = options.backing_file;
  if (bf !== undefined && !unsafe) {
    // The backing file must open; its size is the default size. qemu insists on a format.
    // (A relative name has nothing to be relative to in an empty or json: image name.)
    if (!isAbsolute(bf) && (filename === "" || filename.startsWith("json:")))
      throw new CliError(`${filename}: Cannot use relative backing file names for '${filename}'`);
    const full = pathCombine(filename, bf);
    const bfmt = options.backing_fmt;
    if (isDirectory(full))
      throw new CliError(
        `${filename}: 'file' driver requires '${full}' to be a regular file\nCould not open backing image.`,
      );
    if (bfmt === undefined) {
      let detected = "raw";
      try {
        // qemu opens the backing file (probing its format) with its own backing chain first: a
        // file, or a file of its chain, that does not open is that error.
        const b = await openImage(full, { readOnly: true });
        detected = b.format;
        await b.close();
      } catch (e) {
        throw new CliError(`${filename}: ${errText(e)}\nCould not open backing image.`);
      }
      io.err(
        `tsvirt-img: ${filename}: Backing file specified without backing format\nDetected format of ${detected}.`,
      );
      return 1;
    }
    try {
      const b = await openImage(full, { format: bfmt, readOnly: true });
      size ??= b.virtualSize;
      await b.close();
    } catch (e) {
      throw new CliError(`${filename}: ${errText(e)}\nCould not open backing image.`);
    }
  } else if (bf !== undefined && options.backing_fmt === undefined) {
    // (-u: the backing file is not opened, so there is no format to detect and hint at.)
    throw new CliError(`${filename}: Backing file specified without backing format`);
  }
  if (size === undefined) throw new CliError(`${filename}: Image creation needs a size parameter`);
  if (!quiet) io.out(formattingLine(filename, fmt, { ...options, size: String(huge ?? size) }));
  if (huge !== undefined) {
    const e = await hugeSize(filename, fmt, huge, options);
    if (e) throw e;
    return 0;
  }
  // The file protocol's own options: checked as its create would, then not passed to the format.
  const own = new Set(descs.map((d) => d.name));
  // vmdk checks its own options before the file protocol's refusals below.
  const vmdkChecksFirst = async () => {
    if (fmt !== "vmdk") return;
    try {
      (await import("../../image/formats/vmdk/create.js")).checkVmdkOptions(options);
    } catch (e) {
      if (e instanceof ImageError) throw new CliError(`${filename}: ${e.message}`);
      throw e;
    }
  };
  const hint = options.extent_size_hint;
  if (
    !own.has("extent_size_hint") &&
    hint !== undefined &&
    /^\d+$/.test(hint) &&
    BigInt(hint) > 0xffffffffn
  ) {
    await vmdkChecksFirst();
    throw new CliError(`${filename}: Extent size hint is too large`);
  }
  const proto = options.preallocation;
  if (!own.has("preallocation") && proto !== undefined && !["off", "falloc", "full"].includes(proto)) {
    await vmdkChecksFirst();
    const msg =
      proto === "metadata" ? "Unsupported preallocation mode: metadata" : `invalid parameter value: ${proto}`;
    await leaveEmptyFileIfQemuDoes(filename, fmt, msg);
    throw new CliError(`${filename}: ${msg}`);
  }
  for (const k of Object.keys(options))
    if (!own.has(k) && k !== "backing_file" && k !== "backing_fmt") delete options[k];
  const unexpected = aesUnexpected(fmt, options);
  if (unexpected) throw new CliError(`${filename}: ${unexpected}`);
  try {
    await createImage(filename, fmt, size, options, { unsafe, secrets });
  } catch (e) {
    // qcrypto's wording for a key secret no --object defined.
    const m = e instanceof ImageError ? /^No secret with id '(.*)' found$/.exec(e.message) : null;
    if (m) {
      await leaveEmptyFileIfQemuDoes(filename, fmt, m[0]);
      throw new CliError(`${filename}: No secret with id '${m[1]}'`);
    }
    // qemu words every EFBIG from a driver's create this way.
    if (e instanceof ImageError && /EFBIG|File too large/.test(e.message)) {
      // (The hint comes with a cluster_size option, qcow2's default one included.)
      const hint =
        options.cluster_size !== undefined || fmt === "qcow2" ? " (try using a larger cluster size)" : "";
      throw new CliError(`${filename}: The image size is too large for file format '${fmt}'${hint}`);
    }
    if (e instanceof ImageError && /EISDIR/.test(e.message))
      throw new CliError(`${filename}: Could not create '${filename}': Is a directory`);
    if (e instanceof ImageError) {
      await leaveEmptyFileIfQemuDoes(filename, fmt, e.message);
      throw new CliError(`${filename}: ${createFailureText(filename, e.message)}`);
    }
    throw e;
  }
  return 0;
}
