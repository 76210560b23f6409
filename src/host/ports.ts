// Finds a free TCP port on loopback/any address by binding it briefly (for VNC autoport).
// Racy by nature, as libvirt's port allocator is across processes; callers retry on EADDRINUSE.
import net from "node:net";

function tryBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** First port in [from, to] that can be bound on `host`, skipping `taken`. */
export async function findFreePort(
  from: number,
  to: number,
  host = "127.0.0.1",
  taken = new Set<number>(),
): Promise<number> {
  for (let p = from; p <= to; p++) {
    if (taken.has(p)) continue;
    if (await tryBind(p, host)) return p;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
