// `tsvirt-img check [-r leaks|all] [--output=json]`: the format's consistency check with
// qemu-img's summary text and exit codes (0 clean, 1 check failed, 2 corrupt, 3 leaks, 63 n/a).

import { ImageError } from "../../image/errors.js";
import type { CheckResult } from "../../image/image.js";
import {
  CliError,
  errText,
  fromUsage,
  hasImageOpts,
  openCli,
  type Out,
  printf2,
  showHelp,
} from "./context.js";
import { getopt, HelpRequest } from "./getopt.js";
import { type QValue, toQemuJson } from "./qdict.js";

export { printf2 };

function nz(n: number | undefined): number | undefined {
  return n ? n : undefined;
}

function exitCode(r: CheckResult): number {
  if (r.checkErrors) return 3;
  if (r.corruptions) return 2;
  if (r.leaks) return 3;
  return 0;
}

function human(r: CheckResult, quiet: boolean): string {
  if (quiet) return "";
  let s = "";
  if (r.corruptions === 0 && r.leaks === 0 && r.checkErrors === 0)
    s += "No errors were found on the image.\n";
  else {
    if (r.corruptions)
      s += `\n${r.corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n`;
    if (r.leaks)
      s += `\n${r.leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n`;
    if (r.checkErrors) s += `\n${r.checkErrors} internal errors have occurred during the check.\n`;
  }
  if (r.totalClusters && r.allocatedClusters) {
    const t = r.totalClusters;
    const pct = (n: number | undefined) => printf2(((n ?? 0) * 100) / t);
    const fa = r.allocatedClusters;
    s += `${fa}/${t} = ${pct(fa)}% allocated, ${printf2(((r.fragmentedClusters ?? 0) * 100) / fa)}% fragmented, ${printf2(((r.compressedClusters ?? 0) * 100) / fa)}% compressed clusters\n`;
  }
  if (r.imageEndOffset) s += `Image end offset: ${r.imageEndOffset}\n`;
  return s;
}

export async function cmdCheck(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "hf:r:T:qU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "format", arg: "required", key: "f" },
        { name: "repair", arg: "required", key: "r" },
        { name: "output", arg: "required" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "check",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let output = "human";
  let repair: "leaks" | "all" | undefined;
  let quiet = false;
  let cache = "writeback";
  let forceShare = false;
  const secrets: Record<string, Uint8Array> = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      // qdict loads only when --object is given (check's start-up stays lean).
      const { cliObjects } = await import("./qdict.js");
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
    } else if (k === "f") fmt = v;
    else if (k === "output") output = v;
    else if (k === "q") quiet = true;
    else if (k === "T") cache = v;
    else if (k === "U") forceShare = true;
    else if (k === "r") {
      if (v !== "leaks" && v !== "all") {
        throw new CliError(
          `Unknown option value for -r (expecting 'leaks' or 'all'): ${v}`,
          1,
          "Try 'tsvirt-img --help' for more information\n",
        );
      }
      repair = v;
    }
  }
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  if (output !== "human" && output !== "json")
    throw new CliError("--output must be used with human or json as argument.");
  // (bdrv_parse_cache_mode's names, checked inline: check's start-up loads no more modules.)
  if (!["off", "none", "directsync", "writeback", "unsafe", "writethrough"].includes(cache))
    throw new CliError(`Invalid source cache option: ${cache}`);
  const filename = p.args[0]!;
  if (forceShare && repair !== undefined)
    throw new CliError(`Could not open '${filename}': force-share=on can only be used with read-only images`);
  const img = await openCli(filename, fmt, {
    warn: io,
    readOnly: repair === undefined,
    warnProbe: io,
    imageOpts: hasImageOpts(p.opts),
    secrets,
  });
  try {
    if (!img.checker) throw new CliError("This image format does not support checks", 63);
    let r: CheckResult;
    try {
      r = await img.checker.check(repair ? { repair } : undefined);
    } catch (e) {
      if (e instanceof ImageError && e.kind === "unsupported")
        throw new CliError("This image format does not support checks", 63);
      throw new CliError(`Check failed: ${errText(e)}`, 1);
    }
    for (const m of r.messages) io.err(m.endsWith("\n") ? m : `${m}\n`);
    if (repair && (r.corruptionsFixed || r.leaksFixed)) {
      if (output === "human" && !quiet) {
        io.out(
          `The following inconsistencies were found and repaired:\n\n    ${r.leaksFixed} leaked clusters\n    ${r.corruptionsFixed} corruptions\n\nDouble checking the fixed image now...\n`,
        );
      }
      const again = await img.checker.check();
      // qemu-img reports what the double check finds too (e.g. a corruption -r leaks left).
      for (const m of again.messages) io.err(m.endsWith("\n") ? m : `${m}\n`);
      again.leaksFixed = r.leaksFixed;
      again.corruptionsFixed = r.corruptionsFixed;
      r = again;
    }
    if (output === "json" && !quiet) {
      const d: Record<string, QValue | undefined> = {
        filename,
        format: img.format,
        "check-errors": r.checkErrors,
        "image-end-offset": nz(r.imageEndOffset),
        corruptions: nz(r.corruptions),
        leaks: nz(r.leaks),
        "corruptions-fixed": nz(r.corruptionsFixed),
        "leaks-fixed": nz(r.leaksFixed),
        "total-clusters": nz(r.totalClusters),
        "allocated-clusters": nz(r.allocatedClusters),
        "fragmented-clusters": nz(r.fragmentedClusters),
        "compressed-clusters": nz(r.compressedClusters),
      };
      io.out(toQemuJson(d) + "\n");
    } else if (output !== "json") io.out(human(r, quiet));
    return exitCode(r);
  } finally {
    await img.close();
  }
}
