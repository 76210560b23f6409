// The two daemons of a live differential test: a private libvirtd 9.0 (bench/peers/libvirtd.ts,
// its QEMU capability cache kept under .cache) and tsvirtd from the source tree, started together,
// with a temporary base directory for both sides' files.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LibvirtdPeer, libvirtdUnavailable, startLibvirtd } from "../../bench/peers/libvirtd.js";
import { guestUnavailable } from "./build-guest.js";
import { haveVirsh, RootDaemon } from "./root-daemon.js";

/** The emulator the live tests' domains name. */
export const QEMU = "/usr/bin/qemu-system-x86_64";

/** Why a live test with the test guest under both daemons cannot run here (undefined/null: it can). */
export function livePeersUnavailable() {
  return !haveVirsh()
    ? "virsh not installed"
    : !existsSync(QEMU)
      ? "qemu-system-x86_64 not installed"
      : (guestUnavailable() ?? libvirtdUnavailable());
}

export interface LivePeers {
  ts: RootDaemon;
  lv: LibvirtdPeer;
  /** The sides' own directories go under here. */
  base: string;
  /** Kills the named guests' QEMUs of tsvirtd, stops both daemons, removes the directories. */
  dispose(guests: string[]): Promise<void>;
}

export async function startLivePeers(tag: string): Promise<LivePeers> {
  const base = mkdtempSync(join(tmpdir(), `tsvirt-${tag}-`));
  const cache =
    process.env.TSVIRT_LIBVIRTD_CACHE ?? join(import.meta.dirname, "..", "..", ".cache", "libvirt-qemu-peer");
  mkdirSync(cache, { recursive: true });
  const ts = new RootDaemon(mkdtempSync(join(tmpdir(), `tsvirtd-${tag}-`)));
  const [lv] = await Promise.all([startLibvirtd({ root: join(base, "lv"), cacheDir: cache }), ts.start()]);
  return {
    ts,
    lv,
    base,
    async dispose(guests) {
      ts.killAll(guests);
      rmSync(ts.root, { recursive: true, force: true });
      await lv.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
