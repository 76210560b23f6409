// glibc's strerror() texts, for messages libvirt builds as "<what>: <strerror(errno)>" from
// errors Node reports by code (ENOENT, …).

/** glibc's strerror() texts for the errno values file and socket operations meet. */
const STRERROR: Record<string, string> = {
  ENOENT: "No such file or directory",
  ENOTEMPTY: "Directory not empty",
  EEXIST: "File exists",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EFBIG: "File too large",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ENOSPC: "No space left on device",
  EINVAL: "Invalid argument",
  EBUSY: "Device or resource busy",
  EROFS: "Read-only file system",
  EIO: "Input/output error",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
  EOPNOTSUPP: "Operation not supported",
  ENODEV: "No such device",
  ENXIO: "No such device or address",
  ECONNREFUSED: "Connection refused",
  ENOTSOCK: "Socket operation on non-socket",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ECONNRESET: "Connection reset by peer",
};

/** glibc's text for an errno code name, undefined for one not listed. */
export function errnoText(code: string | undefined): string | undefined {
  return code ? STRERROR[code] : undefined;
}

/** strerror() of a Node error's errno code; the error's own message for codes not listed. */
export function strerror(e: unknown): string {
  const text = errnoText((e as NodeJS.ErrnoException | undefined)?.code);
  if (text !== undefined) return text;
  return e instanceof Error ? e.message : String(e);
}
