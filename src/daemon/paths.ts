// Where tsvirtd keeps things (DESIGN.md "outside contract"): --root DIR puts config, state and
// runtime files under DIR/etc, DIR/lib, DIR/run; otherwise root uses /etc/tsvirt, /var/lib/tsvirt,
// /run/tsvirt and a normal user the XDG directories (session mode).
import { homedir } from "node:os";
import { join } from "node:path";

export interface DaemonPaths {
  etc: string;
  lib: string;
  run: string;
  /** Read-write RPC socket: <run>/libvirt-sock. */
  sock: string;
  /** Read-only RPC socket: <run>/libvirt-sock-ro. */
  sockRo: string;
  /** True for the privileged (system) daemon. */
  system: boolean;
}

export function daemonPaths(root: string | undefined, env: NodeJS.ProcessEnv, uid: number): DaemonPaths {
  let etc: string;
  let lib: string;
  let run: string;
  const system = uid === 0;
  if (root) {
    etc = join(root, "etc");
    lib = join(root, "lib");
    run = join(root, "run");
  } else if (system) {
    etc = "/etc/tsvirt";
    lib = "/var/lib/tsvirt";
    run = "/run/tsvirt";
  } else {
    const home = env.HOME ?? homedir();
    etc = join(env.XDG_CONFIG_HOME ?? join(home, ".config"), "tsvirt");
    lib = join(env.XDG_DATA_HOME ?? join(home, ".local", "share"), "tsvirt");
    run = join(env.XDG_RUNTIME_DIR ?? join(home, ".cache"), "tsvirt");
  }
  return { etc, lib, run, sock: join(run, "libvirt-sock"), sockRo: join(run, "libvirt-sock-ro"), system };
}
