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
export const DAEMON_V8_FLAGS = [
  "--semi-space-growth-factor=1",
  // Warm-up: in bench/rpc-define.ts (python-libvirt, 500 defines a round) TurboFan compiling on the
  // main thread (the shebang then had --no-concurrent-recompilation) took ~380 ms over the first two
  // rounds, most of the define CPU there: formatDomainXML, parseDisk, parseDomainTree each 15-22 ms
  // with everything inlined. Capping the inlined bytecode per function (default 920) makes each
  // compile cheaper, and twice the default interrupt budget (132 KiB of bytecode executed) leaves
  // code that is only warm in Sparkplug. Measured (2 cores, rounds 1 / 2 / steady, daemon CPU per
  // define): 0.32 / 0.34 / 0.15 ms before, 0.27 / 0.14 / 0.14 ms after; RSS with 500 defined
  // unchanged (61 MiB).
  "--max-inlined-bytecode-size-cumulative=100",
  "--interrupt-budget=270336",
];

for (const f of DAEMON_V8_FLAGS) v8.setFlagsFromString(f);
