// `tsvirt-img map`: guest ranges with their allocation and host location, human or json.

import { dirname } from "node:path";
import type { Image, MapExtent } from "../../image/index.js";
import type { CorruptionError } from "../../image/errors.js";
import { CliError, fromUsage, hasImageOpts, openCli, type Out, pathCombine, showHelp } from "./context.js";
import { printNotice, statusUntilError } from "./corruption.js";
import { getopt, HelpRequest } from "./getopt.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { cvtnum } from "./units.js";

const STEP = 1 << 30;

function same(a: MapExtent, b: MapExtent): boolean {
  return (
    a.start + a.length === b.start &&
    a.depth === b.depth &&
    (a.offset === undefined) === (b.offset === undefined) &&
    (a.offset === undefined || a.offset + a.length === b.offset) &&
    a.data === b.data &&
    a.zero === b.zero &&
    !!a.present === !!b.present &&
    (a.filename ?? "") === (b.filename ?? "")
  );
}

/**
 * qemu names each backing layer by path_combine() of the layer above and its backing name, so
 * the File column shows "base.img" where the image layer opened an absolute path.
 */
function chainNames(img: Image, given: string): (depth: number, file: string) => string {
  const layers: { opened: string; shown: string }[] = [];
  let shown = given;
  for (let i: Image | undefined = img; i; i = i.backing?.backingImage) {
    layers.push({ opened: i.io.path ?? shown, shown });
    const b = i.backing?.backingFile;
    if (b === undefined) break;
    shown = pathCombine(shown, b);
  }
  return (depth, file) => {
    const l = layers[depth];
    if (!l || l.opened === l.shown) return file;
    if (file === l.opened) return l.shown;
    const od = dirname(l.opened);
    const sd = dirname(l.shown);
    if (file.startsWith(`${od}/`))
      return sd === "." ? file.slice(od.length + 1) : `${sd}/${file.slice(od.length + 1)}`;
    return file;
  };
}

const HEADER = `${"Offset".padEnd(16)}${"Length".padEnd(16)}${"Mapped to".padEnd(16)}File\n`;

function jsonLine(e: MapExtent): string {
  return (
    `{ "start": ${e.start}, "length": ${e.length}, "depth": ${e.depth}, "present": ${!!e.present}, "zero": ${e.zero}, "data": ${e.data}` +
    (e.offset !== undefined ? `, "offset": ${e.offset}` : "") +
    "}"
  );
}

function humanLine(io: Out, e: MapExtent): void {
  const hex = (n: number) => (n === 0 ? "0" : `0x${n.toString(16)}`);
  if (e.data && e.offset === undefined)
    throw new CliError("File contains external, encrypted or compressed clusters.");
  // Data that reads as zero (a hole under a flat/static layout) is not listed, as in qemu.
  if (e.data && !e.zero && e.offset !== undefined)
    io.out(
      `${hex(e.start).padEnd(16)}${hex(e.length).padEnd(16)}${hex(e.offset).padEnd(16)}${e.filename ?? ""}\n`,
    );
}

export async function cmdMap(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "f:hU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "format", arg: "required", key: "f" },
        { name: "output", arg: "required" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
        { name: "start-offset", arg: "required", key: "s" },
        { name: "max-length", arg: "required", key: "l" },
      ],
      "map",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let output = "human";
  let start = 0;
  let maxLen: number | undefined;
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "output") output = v;
    else if (k === "s" || k === "l") {
      const r = cvtnum(k === "s" ? "start offset" : "max length", v, (w) =>
        io.err(`tsvirt-img: warning: ${w}\n`),
      );
      if ("error" in r) throw new CliError(r.error);
      if (k === "s") start = r.value;
      else maxLen = r.value;
    }
  }
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  if (output !== "human" && output !== "json")
    throw new CliError("--output must be used with human or json as argument.");
  const imageOpts = hasImageOpts(p.opts);
  const img = await openCli(p.args[0]!, fmt, { warn: io, readOnly: true, imageOpts, secrets });
  try {
    // With --image-opts the file column names the file the options point at, as qemu's.
    const rename = chainNames(img, imageOpts ? (img.io.path ?? p.args[0]!) : p.args[0]!);
    const end = Math.min(img.virtualSize, maxLen !== undefined ? start + maxLen : img.virtualSize);
    const all: MapExtent[] = [];
    let failed: CorruptionError | undefined;
    for (let pos = start; pos < end && !failed; pos += STEP) {
      const st = await statusUntilError(img, pos, Math.min(STEP, end - pos));
      failed = st.error;
      for (const e of st.extents) {
        if (e.filename !== undefined) e.filename = rename(e.depth, e.filename);
        const last = all[all.length - 1];
        if (last && same(last, e)) last.length += e.length;
        else all.push({ ...e });
      }
    }
    if (failed) {
      // qemu prints each extent once the next one differs: the one pending is lost.
      all.pop();
      if (output === "json") io.out(`[${all.map((e) => `${jsonLine(e)},\n`).join("")}`);
      else {
        io.out(HEADER);
        for (const e of all) humanLine(io, e);
      }
      printNotice(io, failed);
      throw new CliError(`Could not read file metadata: ${failed.message}`);
    }
    // Nothing to map (empty image, start at or past the end, zero length): qemu prints its
    // initial, empty entry.
    if (all.length === 0) all.push({ start, length: 0, depth: 0, present: false, zero: false, data: false });
    if (output === "json") {
      io.out(`[${all.map(jsonLine).join(",\n")}]\n`);
      return 0;
    }
    io.out(HEADER);
    for (const e of all) humanLine(io, e);
    return 0;
  } finally {
    await img.close();
  }
}
