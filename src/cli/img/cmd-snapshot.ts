// `tsvirt-img snapshot [-l | -a name | -c name | -d name] [-q] filename`: internal snapshots.

import { CliError, errText, fromUsage, hasImageOpts, openCli, type Out, showHelp } from "./context.js";
import { snapshotHeader, snapshotLine } from "./cmd-info.js";
import { getopt, HelpRequest } from "./getopt.js";
import { cliObjects, type Secrets } from "./qdict.js";

export async function cmdSnapshot(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "la:c:d:hqU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "snapshot",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let action: [string, string] | undefined;
  let forceShare = false;
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "U") forceShare = true;
    else if (k === "l" || k === "a" || k === "c" || k === "d") {
      if (action)
        throw new CliError(
          "Cannot mix '-l', '-a', '-c', '-d'",
          1,
          "Try 'tsvirt-img --help' for more information\n",
        );
      action = [k, v];
    }
  }
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  // Without an action qemu-img opens the image for writing and does nothing else.
  action ??= ["", ""];
  const [op, name] = action;
  const imageOpts = hasImageOpts(p.opts);
  // Creating, applying and deleting open the image for writing: sharing it is refused first.
  if (forceShare && op !== "l")
    throw new CliError(
      `Could not open '${p.args[0]}': force-share=on can only be used with read-only images`,
    );
  const img = await openCli(p.args[0]!, fmt, {
    warn: io,
    readOnly: op === "l",
    warnProbe: io,
    imageOpts,
    secrets,
  });
  // Applying reopens the image (the raw probing warning shows twice, as in qemu-img).
  if (op === "a" && !fmt && img.format === "raw")
    await (
      await openCli(p.args[0]!, fmt, { warn: io, readOnly: false, warnProbe: io, imageOpts, secrets })
    ).close();
  try {
    if (op === "") return 0;
    const snaps = img.snapshots;
    if (op === "l") {
      const list = snaps ? await snaps.list() : [];
      if (list.length > 0)
        io.out(`Snapshot list:\n${snapshotHeader()}\n${list.map((s) => snapshotLine(s) + "\n").join("")}`);
      return 0;
    }
    const what = op === "c" ? "create" : op === "a" ? "apply" : "delete";
    if (!snaps) {
      // qemu-img's texts for a driver without snapshots.
      const why =
        op === "c"
          ? "-95 (Operation not supported)"
          : op === "a"
            ? "Block driver does not support snapshots"
            : "snapshot not found";
      throw new CliError(`Could not ${what} snapshot '${name}': ${why}`);
    }
    let target = name;
    if (op !== "c") {
      const list = await snaps.list();
      // -d looks the snapshot up by name only (bdrv_snapshot_find); -a by ID first, then name.
      const hit =
        op === "d" ? list.find((s) => s.name === name) : list.find((s) => s.id === name || s.name === name);
      if (op === "d" && hit) target = hit.id;
      if (!hit) {
        const why = op === "a" ? "Failed to load snapshot: No such file or directory" : "snapshot not found";
        throw new CliError(`Could not ${what} snapshot '${name}': ${why}`);
      }
    }
    try {
      // qemu copies the name into a 256-byte buffer (pstrcpy): at most 255 bytes are kept.
      if (op === "c") await snaps.create(Buffer.from(name).subarray(0, 255).toString());
      else if (op === "a") await snaps.apply(name);
      else await snaps.delete(target);
      await img.flush();
    } catch (e) {
      const verb = op === "c" ? "create" : op === "a" ? "apply" : "delete";
      // qemu reports a refcount that would overflow its width as a bare -EINVAL.
      const why = /would exceed the \d+-bit refcount width/.test(errText(e))
        ? "-22 (Invalid argument)"
        : errText(e);
      throw new CliError(`Could not ${verb} snapshot '${name}': ${why}`);
    }
    return 0;
  } finally {
    await img.close();
  }
}
