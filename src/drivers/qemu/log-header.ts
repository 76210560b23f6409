// The per-domain QEMU log header: like libvirt's, one "starting up" line with versions, then the
// environment and argv as a copy-pasteable shell command, one option per line.
import { hostname, release } from "node:os";

/** Quotes one word for a POSIX shell when needed. */
export function shellQuote(w: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
  return `'${w.replace(/'/g, `'\\''`)}'`;
}

/** Formats argv with options and their values on one line, joined by " \\\n" as libvirt logs them. */
export function formatArgv(env: [string, string][], argv: string[]): string {
  const lines: string[] = env.map(([k, v]) => `${k}=${shellQuote(v)}`);
  lines.push(shellQuote(argv[0]!));
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith("-") && next !== undefined && !next.startsWith("-")) {
      lines.push(`${a} ${shellQuote(next)}`);
      i++;
    } else lines.push(shellQuote(a));
  }
  return `${lines.join(" \\\n")}\n`;
}

export function logHeader(
  when: Date,
  versions: { tsvirt: string; qemu?: string },
  env: [string, string][],
  argv: string[],
): string {
  const ts = when.toISOString().replace("T", " ").replace("Z", "+0000");
  const qemu = versions.qemu !== undefined ? `, qemu version: ${versions.qemu}` : "";
  return (
    `${ts}: starting up tsvirt version: ${versions.tsvirt}${qemu}, kernel: ${release()}, hostname: ${hostname()}\n` +
    formatArgv(env, argv)
  );
}
