// Runs host networking tools (ip, nft, sysctl, dnsmasq) either in the daemon's own network
// namespace or, for tests, inside a named one (`ip netns exec NS ...`), so that tests never
// touch the host's real links, routes or firewall.
import { execFile } from "node:child_process";

export interface NetHostOptions {
  /** Named network namespace (`ip netns add NAME`) to run every command in. */
  netns?: string;
}

export class NetCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(stderr.trim() || `${argv.join(" ")} failed with exit code ${exitCode}`);
  }
}

/** argv wrapped for the namespace (unchanged without one). */
export function inNetns(argv: string[], netns?: string): string[] {
  return netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
}

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function runNet(
  argv: string[],
  o: NetHostOptions & { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const full = inNetns(argv, o.netns);
  return new Promise((resolve, reject) => {
    const child = execFile(
      full[0]!,
      full.slice(1),
      { timeout: o.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const code =
            typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : null;
          reject(new NetCommandError(full, String(stderr) || err.message, code));
        } else resolve(String(stdout));
      },
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}
