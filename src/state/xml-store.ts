// Atomic XML config store: one `<name>.xml` per object in a directory, written as libvirt's
// virFileRewrite does (temp file, fsync, rename over, fsync the directory) so a crash leaves
// either the old or the new file, never a torn one. Autostart is a marker in `autostart/`.

import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` atomically (temp + fsync + rename + fsync dir). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = join(path, "..");
  const tmp = `${path}.new-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

function checkName(name: string): void {
  if (name === "" || name.includes("/") || name === "." || name === ".." || name.includes("\0")) {
    throw new Error(`invalid object name for a config file: ${JSON.stringify(name)}`);
  }
}

export class XmlStore {
  constructor(readonly dir: string) {}

  private file(name: string): string {
    checkName(name);
    return join(this.dir, `${name}.xml`);
  }

  private autostartLink(name: string): string {
    checkName(name);
    return join(this.dir, "autostart", `${name}.xml`);
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, "autostart"), { recursive: true, mode: 0o700 });
  }

  async save(name: string, xml: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file(name), xml);
  }

  async load(name: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(name), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async remove(name: string): Promise<void> {
    await rm(this.file(name), { force: true });
    await this.setAutostart(name, false);
    await fsyncDir(this.dir).catch(() => {});
  }

  /** Names of stored objects, sorted. */
  async list(): Promise<string[]> {
    let ents: string[];
    try {
      ents = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    return ents
      .filter((f) => f.endsWith(".xml") && !f.includes(".new-"))
      .map((f) => f.slice(0, -4))
      .sort();
  }

  async setAutostart(name: string, on: boolean): Promise<void> {
    const link = this.autostartLink(name);
    if (on) {
      await mkdir(join(this.dir, "autostart"), { recursive: true, mode: 0o700 });
      await unlink(link).catch(() => {});
      await symlink(this.file(name), link);
    } else {
      await unlink(link).catch(() => {});
    }
  }

  async isAutostart(name: string): Promise<boolean> {
    try {
      await stat(this.autostartLink(name));
      return true;
    } catch {
      return false;
    }
  }
}
