// Progress output for -p: a cli-progress bar on a terminal, qemu-img's "    (12.34/100%)\r"
// lines otherwise.

import { createRequire } from "node:module";
import type { Out } from "./context.js";

// cli-progress is loaded only when a bar is drawn (-p on a terminal): start-up stays small.
const requireCjs = createRequire(import.meta.url);

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function makeProgress(io: Out, enabled: boolean): Progress | undefined {
  if (!enabled) return undefined;
  if (io.isTTY) {
    const cliProgress = requireCjs("cli-progress") as typeof import("cli-progress");
    const bar = new cliProgress.SingleBar(
      { format: "    [{bar}] {percentage}%", hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0);
    return {
      update: (d, t) => bar.update(t > 0 ? Math.floor((d / t) * 10000) / 100 : 100),
      stop: () => bar.stop(),
    };
  }
  let last = -1;
  const print = (pct: number) => io.out(`    (${pct.toFixed(2)}/100%)\r`);
  print(0);
  return {
    update(d, t) {
      const pct = t > 0 ? (d / t) * 100 : 100;
      // qemu prints when progress moved by at least 1% (qemu_progress_print min_skip).
      if (pct - last >= 1 || pct >= 100) {
        last = pct;
        print(pct);
      }
    },
    stop() {
      if (last < 100) print(100);
      io.out("\n");
    },
  };
}
