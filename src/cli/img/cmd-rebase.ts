// `tsvirt-img rebase [-u] [-f fmt] -b backing [-F fmt] filename`: changes the backing file; the
// safe mode first copies into the image every range where old and new backing differ.

import { detectFormat, FileIO, type Image, openImage } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";
import { CliError, errText, fromUsage, type Out, openCli, pathCombine } from "./context.js";
import { getopt } from "./getopt.js";
import { makeProgress } from "./progress.js";

const CHUNK = 1 << 20;

export async function cmdRebase(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv, "hf:F:b:upt:T:qUc", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "force-share", arg: "none", key: "U" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let newBacking: string | undefined;
  let newFmt: string | undefined;
  let unsafe = false;
  let progress = false;
  for (const [k, v] of p.opts) {
    if (k === "f") fmt = v;
    else if (k === "b") newBacking = v;
    else if (k === "F") newFmt = v;
    else if (k === "u") unsafe = true;
    else if (k === "p") progress = true;
  }
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  if (newBacking === undefined)
    throw new CliError("Must specify backing file (-b) or use unsafe mode (-u)", 1);
  const filename = p.args[0]!;
  const img = await openCli(filename, fmt, { readOnly: false, backingChain: !unsafe });
  let nb: Image | undefined;
  try {
    if (!img.backing)
      throw new CliError(`Could not change the backing file to '${newBacking}': Operation not supported`);
    const target = newBacking === "" ? undefined : newBacking;
    if (target !== undefined && newFmt === undefined) {
      try {
        const bio = await FileIO.open(pathCombine(filename, target), { readOnly: true });
        newFmt = await detectFormat(bio);
        await bio.close();
      } catch {
        /* unsafe mode may point at a file that does not exist yet */
      }
    }
    if (!unsafe) {
      if (target !== undefined) {
        try {
          nb = await openImage(pathCombine(filename, target), { format: newFmt, readOnly: true });
        } catch (e) {
          throw new CliError(
            `Could not open new backing file '${pathCombine(filename, target)}': ${errText(e)}`,
          );
        }
      }
      const old = img.backing.backingImage;
      const bar = makeProgress(io, progress);
      const a = new Uint8Array(CHUNK);
      const b = new Uint8Array(CHUNK);
      for (let pos = 0; pos < img.virtualSize; pos += CHUNK) {
        const n = Math.min(CHUNK, img.virtualSize - pos);
        // Only ranges the image itself does not define can change meaning.
        for (const e of await chainStatus(img, pos, n)) {
          if (e.depth === 0 && e.present !== false) continue;
          const va = a.subarray(0, e.length);
          const vb = b.subarray(0, e.length);
          va.fill(0);
          vb.fill(0);
          if (old) {
            const m = Math.max(0, Math.min(e.length, old.virtualSize - e.start));
            if (m > 0) await old.read(e.start, va.subarray(0, m));
          }
          if (nb) {
            const m = Math.max(0, Math.min(e.length, nb.virtualSize - e.start));
            if (m > 0) await nb.read(e.start, vb.subarray(0, m));
          }
          if (!Buffer.from(va.buffer, 0, e.length).equals(Buffer.from(vb.buffer, 0, e.length)))
            await img.write(e.start, va);
        }
        bar?.update(pos + n, img.virtualSize);
      }
      bar?.stop();
    }
    try {
      await img.backing.setBacking(target, target === undefined ? undefined : newFmt);
      await img.flush();
    } catch (e) {
      throw new CliError(`Could not change the backing file to '${newBacking}': ${errText(e)}`);
    }
    return 0;
  } finally {
    await nb?.close().catch(() => {});
    await img.close();
  }
}
