// Heap tuning for the long-running daemon, applied before the rest of tsvirtd is loaded (the
// composition root imports this module first). A daemon's young objects are per-call garbage, so
// the young generation stays at its initial size instead of growing to 16 MiB semi-spaces.
import v8 from "node:v8";

/**
 * V8 grows the semi-spaces whenever a scavenge keeps many objects alive (module loading, a burst
 * of defines); a growth factor of 1 keeps them at the 1 MiB start size. That costs more frequent
 * (cheap) scavenges and saves up to 3 x 16 MiB of resident memory. Only tunables V8 reads when it
 * uses them can be set here; flags fixed at isolate creation are in src/bin/tsvirtd.ts's shebang.
 * (--optimize-for-size was tried: no resident-memory gain once the shebang's flag is in, and
 * about a third more CPU per define in bench/rpc-define.ts.)
 */
export const DAEMON_V8_FLAGS = ["--semi-space-growth-factor=1"];

for (const f of DAEMON_V8_FLAGS) v8.setFlagsFromString(f);
