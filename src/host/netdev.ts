// Host network devices for guests: pick free tap names (libvirt's vnetN scheme) and plug a tap
// that QEMU created into a bridge with iproute2. Never touches devices it was not given.
// Links are read over netlink (ip), not /sys, so this is right inside any network namespace.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1) and have no '/', ':' or spaces. */
export function validIfname(name: string): boolean {
  return /^[A-Za-z0-9_.-]{1,15}$/.test(name) && name !== "." && name !== "..";
}

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP("ip", args, { timeout: 10_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error((err.stderr || err.message).trim());
  }
}

/** Names of the links in this network namespace (`ip -o link show`: "N: name[@peer]: <...>"). */
export async function listLinks(): Promise<Set<string>> {
  const out = await ip(["-o", "link", "show"]);
  const names = new Set<string>();
  for (const line of out.split("\n")) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** Lowest `vnetN` that is neither an existing link nor in `taken`. */
export function allocateTapName(existing: Set<string>, taken: Set<string>, prefix = "vnet"): string {
  for (let i = 0; i < 65536; i++) {
    const n = `${prefix}${i}`;
    if (!taken.has(n) && !existing.has(n)) return n;
  }
  throw new Error("no free tap device name");
}

/** `ip link set dev TAP master BRIDGE up`; errors carry iproute2's own text. */
export async function attachTapToBridge(tap: string, bridge: string): Promise<void> {
  if (!validIfname(tap) || !validIfname(bridge))
    throw new Error(`invalid interface name '${tap}' or '${bridge}'`);
  const isBridge = (await ip(["-o", "link", "show", "type", "bridge"])).split("\n").some((l) => {
    const m = /^\d+:\s+([^:@\s]+)/.exec(l);
    return m?.[1] === bridge;
  });
  if (!isBridge) throw new Error(`bridge '${bridge}' does not exist`);
  await ip(["link", "set", "dev", tap, "master", bridge, "up"]);
}
