// `tsvirt-img info`: qemu-img's ImageInfo as human text or --output=json (qdict key order),
// optionally for the whole backing chain.

import type { Image, SnapshotInfo } from "../../image/index.js";
import {
  allocatedSize,
  CliError,
  fromUsage,
  hasImageOpts,
  openCli,
  type Out,
  pathCombine,
  showHelp,
} from "./context.js";
import { getopt, HelpRequest } from "./getopt.js";
import {
  cliObjects,
  dumpHuman,
  parseImageOpts,
  parseJsonFilename,
  type QValue,
  type Secrets,
  toQemuJson,
} from "./qdict.js";
import { sizeToStr } from "./units.js";

export async function imageInfoDict(
  img: Image,
  filename: string,
): Promise<Record<string, QValue | undefined>> {
  const info = await img.info();
  const actual = await allocatedSize(img);
  const d: Record<string, QValue | undefined> = {};
  d["virtual-size"] = info.virtualSize;
  d.filename = filename;
  d["cluster-size"] = info.clusterSize;
  d.format = img.format;
  d["actual-size"] = actual;
  if (info.encrypted) d.encrypted = true;
  const snaps = img.snapshots ? await img.snapshots.list() : [];
  if (snaps.length > 0) d.snapshots = snaps.map(snapshotDict);
  if (info.formatSpecific)
    d["format-specific"] = { type: info.formatSpecific.type, data: info.formatSpecific.data as QValue };
  if (info.backingFilename !== undefined) {
    d["backing-filename-format"] = info.backingFilenameFormat;
    // qemu names it by path_combine() of the name given, not by the resolved absolute path.
    d["full-backing-filename"] = pathCombine(filename, info.backingFilename);
    d["backing-filename"] = info.backingFilename;
  }
  d["dirty-flag"] = info.dirtyFlag ?? false;
  return d;
}

export function snapshotDict(s: SnapshotInfo): Record<string, QValue | undefined> {
  return {
    icount: s.icount,
    "vm-state-size": s.vmStateSize,
    "date-sec": s.dateSec,
    "date-nsec": s.dateNsec,
    "vm-clock-nsec": s.vmClockNsec % 1e9,
    name: s.name,
    "vm-clock-sec": Math.floor(s.vmClockNsec / 1e9),
    id: s.id,
  };
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** block/qapi.c bdrv_snapshot_dump() columns. */
export function snapshotHeader(): string {
  return `${"ID".padEnd(10)}${"TAG".padEnd(17)}${"VM SIZE".padStart(8)}${"DATE".padStart(20)}${"VM CLOCK".padStart(13)}${"ICOUNT".padStart(11)}`;
}

export function snapshotLine(s: SnapshotInfo): string {
  const d = new Date(s.dateSec * 1000);
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  const secs = Math.floor(s.vmClockNsec / 1e9);
  const clock = `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}.${String(Math.floor(s.vmClockNsec / 1e6) % 1000).padStart(3, "0")}`;
  const icount = s.icount !== undefined ? String(s.icount) : "";
  return `${s.id.padEnd(9)} ${s.name.padEnd(16)} ${sizeToStr(s.vmStateSize).padStart(8)}${date.padStart(20)}${clock.padStart(13)}${icount.padStart(11)}`;
}

export function humanInfo(d: Record<string, QValue | undefined>, snaps: SnapshotInfo[]): string {
  const lines: string[] = [];
  const actual = d["actual-size"];
  lines.push(`image: ${d.filename}`);
  lines.push(`file format: ${d.format}`);
  lines.push(`virtual size: ${sizeToStr(d["virtual-size"] as number)} (${d["virtual-size"]} bytes)`);
  lines.push(`disk size: ${actual === undefined ? "unavailable" : sizeToStr(actual as number)}`);
  if (d.encrypted) lines.push("encrypted: yes");
  if (d["cluster-size"] !== undefined) lines.push(`cluster_size: ${d["cluster-size"]}`);
  if (d["dirty-flag"]) lines.push("cleanly shut down: no");
  if (d["backing-filename"] !== undefined) {
    let s = `backing file: ${d["backing-filename"]}`;
    if (d["full-backing-filename"] !== d["backing-filename"])
      s += ` (actual path: ${d["full-backing-filename"]})`;
    lines.push(s);
  }
  if (d["backing-filename-format"] !== undefined)
    lines.push(`backing file format: ${d["backing-filename-format"]}`);
  if (snaps.length > 0) {
    lines.push("Snapshot list:");
    lines.push(snapshotHeader());
    for (const s of snaps) lines.push(snapshotLine(s));
  }
  const fs = d["format-specific"] as { data: QValue } | undefined;
  if (fs) {
    lines.push("Format specific information:");
    dumpHuman(fs.data, 1, lines);
  }
  return lines.join("\n") + "\n";
}

/**
 * The name qemu gives an image opened with --image-opts: its file's name, or, when options it
 * must keep (qcow2/qcow encrypt.*) were given, a json: description of the node.
 */
function optsName(spec: string, format: string): string {
  const fail = (m: string) => new CliError(m);
  const o = spec.startsWith("json:{")
    ? (parseJsonFilename(spec, fail) ?? parseImageOpts(spec, fail))
    : parseImageOpts(spec, fail);
  const strong = Object.entries(o.options).filter(([k]) => k.startsWith("encrypt."));
  if (strong.length === 0 || (format !== "qcow2" && format !== "qcow")) return o.path;
  const q = (x: string) => JSON.stringify(x);
  const own = strong.map(([k, v]) => `${q(k)}: ${q(v)}, `).join("");
  return `json:{${own}"driver": ${q(format)}, "file": {"driver": "file", "filename": ${q(o.path)}}}`;
}

export async function cmdInfo(argv: string[], io: Out): Promise<number> {
  let fmt: string | undefined;
  let output = "human";
  let chain = false;
  let parsed: ReturnType<typeof getopt>;
  try {
    parsed = getopt(
      argv,
      "f:hU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "format", arg: "required", key: "f" },
        { name: "output", arg: "required" },
        { name: "backing-chain", arg: "none" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "info",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  // --object secrets, created as qemu-img does while it reads its options.
  const secrets: Secrets = {};
  for (const [k, v] of parsed.opts) {
    if (k === "object") cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
    else if (k === "f") fmt = v;
    else if (k === "output") output = v;
    else if (k === "backing-chain") chain = true;
  }
  if (parsed.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  if (output !== "human" && output !== "json")
    throw new CliError("--output must be used with human or json as argument.");
  const filename = parsed.args[0]!;
  const dicts: Record<string, QValue | undefined>[] = [];
  const snapLists: SnapshotInfo[][] = [];
  const seen = new Set<string>();
  let name: string | undefined = filename;
  let f = fmt;
  let imageOpts = hasImageOpts(parsed.opts);
  while (name !== undefined) {
    if (seen.has(name)) throw new CliError(`Backing file '${name}' creates an infinite loop.`);
    seen.add(name);
    const img = await openCli(name, f, {
      warn: io,
      readOnly: true,
      backingChain: false,
      noIo: true,
      imageOpts,
      secrets,
    });
    try {
      const json = !imageOpts && name.startsWith("json:{") && parseJsonFilename(name, (m) => new CliError(m));
      const d = await imageInfoDict(img, imageOpts || json ? optsName(name, img.format) : name);
      imageOpts = false;
      dicts.push(d);
      snapLists.push(img.snapshots ? await img.snapshots.list() : []);
      if (!chain) break;
      name = d["full-backing-filename"] as string | undefined;
      f = d["backing-filename-format"] as string | undefined;
    } finally {
      await img.close();
    }
  }
  if (output === "json") {
    io.out((chain ? toQemuJson(dicts as QValue) : toQemuJson(dicts[0] as QValue)) + "\n");
  } else {
    io.out(dicts.map((d, i) => humanInfo(d, snapLists[i]!)).join("\n"));
  }
  return 0;
}
