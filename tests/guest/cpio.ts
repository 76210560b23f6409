// Writes a cpio "newc" archive (the initramfs format, Documentation/driver-api/early-userspace/
// buffer-format.rst): 110-byte ASCII header, NUL-terminated name, data, each padded to 4 bytes.

export interface CpioEntry {
  name: string;
  /** Full st_mode: type bits | permissions (0o100755 file, 0o040755 dir, 0o120777 symlink, 0o020600 char dev). */
  mode: number;
  data?: Buffer;
  /** For device nodes. */
  rdevMajor?: number;
  rdevMinor?: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => n.toString(16).padStart(8, "0");

export function writeCpio(entries: CpioEntry[]): Buffer {
  const out: Buffer[] = [];
  let ino = 1;
  const add = (e: CpioEntry, inode: number) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`, "utf8");
    const fields = [
      inode,
      e.mode,
      0, // uid
      0, // gid
      (e.mode & 0o170000) === 0o040000 ? 2 : 1,
      0, // mtime: fixed, so the archive is reproducible
      data.length,
      0,
      0,
      e.rdevMajor ?? 0,
      e.rdevMinor ?? 0,
      name.length,
      0, // check (unused in newc)
    ];
    const header = Buffer.from(`070701${fields.map(hex8).join("")}`, "ascii");
    out.push(
      header,
      name,
      Buffer.alloc(pad4(header.length + name.length)),
      data,
      Buffer.alloc(pad4(data.length)),
    );
  };
  for (const e of entries) add(e, ino++);
  add({ name: "TRAILER!!!", mode: 0 }, 0);
  return Buffer.concat(out);
}
