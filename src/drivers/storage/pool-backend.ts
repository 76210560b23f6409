// Pool backends for local directories (libvirt's storage_backend_fs.c): `dir` is a plain
// directory; `fs` mounts its source device on the target directory while active (root only).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readFile, rmdir, stat } from "node:fs/promises";
import type { StoragePoolDef } from "../../conf/storage/index.js";
import { ErrorCode } from "../../errors/index.js";
import { internal, invalidArgRaw, storageErr, sysError } from "./errors.js";

/** VIR_STORAGE_DEFAULT_POOL_PERM_MODE. */
export const DEFAULT_POOL_MODE = 0o711;
const MOUNT = "/bin/mount";
const UMOUNT = "/bin/umount";

/** virStoragePoolBuildFlags. */
export const BUILD = { NEW: 0, REPAIR: 1, RESIZE: 2, NO_OVERWRITE: 4, OVERWRITE: 8 } as const;

function runChild(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), (err, _stdout, stderr) => {
      if (!err) return resolve();
      const status = typeof err.code === "number" ? err.code : 1;
      // libvirt's virCommandRun wording for a child that failed.
      reject(
        internal(`Child process (${argv.join(" ")}) unexpected exit status ${status}: ${stderr.toString()}`),
      );
    });
  });
}

/** pool-build for dir/fs: creates the target directory with the pool's permissions. */
export async function buildPool(def: StoragePoolDef, flags: number): Promise<void> {
  if (flags & BUILD.OVERWRITE && flags & BUILD.NO_OVERWRITE) {
    throw invalidArgRaw(
      "Flags 'VIR_STORAGE_POOL_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_BUILD_NO_OVERWRITE' are mutually exclusive",
    );
  }
  if (def.type === "fs" && flags & (BUILD.OVERWRITE | BUILD.NO_OVERWRITE)) {
    throw storageErr(
      ErrorCode.OPERATION_UNSUPPORTED,
      "making a filesystem on the pool device is not supported",
    );
  }
  const path = def.target.path!;
  const perms = def.target.perms;
  try {
    await mkdir(path, { recursive: true, mode: perms?.mode ?? DEFAULT_POOL_MODE });
  } catch (e) {
    throw sysError(`cannot create path '${path}'`, e);
  }
  try {
    await chmod(path, perms?.mode ?? DEFAULT_POOL_MODE);
    if (perms && (perms.owner !== undefined || perms.group !== undefined)) {
      await chown(path, perms.owner ?? -1, perms.group ?? -1);
    }
  } catch (e) {
    throw sysError(`cannot set permissions on '${path}'`, e);
  }
}

/** Whether `target` is a mount point listed in /proc/mounts (virStorageBackendFileSystemIsMounted). */
async function isMounted(target: string): Promise<boolean> {
  const text = await readFile("/proc/mounts", "utf8").catch(() => "");
  const unoctal = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)));
  return text.split("\n").some((l) => unoctal(l.split(" ")[1] ?? "") === target);
}

/** pool-start backend step: dir pools need nothing; fs pools mount their device. */
export async function startPool(def: StoragePoolDef): Promise<void> {
  if (def.type !== "fs") return;
  const target = def.target.path!;
  if (def.source.devices.length !== 1) {
    throw internal(
      def.source.devices.length === 0
        ? "missing source device"
        : "expected exactly 1 device for the storage pool",
    );
  }
  if (await isMounted(target)) return;
  const dev = def.source.devices[0]!.path;
  if (process.getuid?.() !== 0) {
    throw storageErr(
      ErrorCode.OPERATION_DENIED,
      `mounting '${dev}' on '${target}' needs a privileged daemon (running as uid ${process.getuid?.()})`,
    );
  }
  const fmt = def.source.format ?? "auto";
  await runChild([MOUNT, "-o", "nodev,nosuid,noexec", "-t", fmt, dev, target]);
}

/** pool-destroy backend step: fs pools unmount their target. */
export async function stopPool(def: StoragePoolDef): Promise<void> {
  if (def.type !== "fs") return;
  const target = def.target.path!;
  if (!(await isMounted(target))) return;
  await runChild([UMOUNT, target]);
}

/** pool-delete: removes the (empty) target directory. */
export async function deletePool(def: StoragePoolDef): Promise<void> {
  const path = def.target.path!;
  try {
    await rmdir(path);
  } catch (e) {
    throw sysError(`failed to remove pool '${path}'`, e);
  }
}

/** A target directory that still exists (checkPool at daemon start). */
export async function targetExists(def: StoragePoolDef): Promise<boolean> {
  const path = def.target.path;
  if (!path || !existsSync(path)) return false;
  return (await stat(path)).isDirectory();
}
