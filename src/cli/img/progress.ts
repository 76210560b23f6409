// Progress output for -p: a cli-progress bar on a terminal, qemu-img's "    (12.34/100%)\r"
// lines otherwise.

import { createRequire } from "node:module";
import { type Out, printf2 } from "./context.js";

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

/** qemu's util/qemu-progress.c state: print(delta, max) and end(), as rebase and commit use it. */
export interface QemuProgress {
  /** max 0: set to `delta` percent; else advance by delta/100*max percent. */
  print(delta: number, max: number): void;
  /** The closing newline (printed on every exit path once started). */
  end(): void;
}

export function qemuProgress(io: Out, enabled: boolean, minSkip: number): QemuProgress | undefined {
  if (!enabled) return undefined;
  if (io.isTTY) {
    const bar = makeProgress(io, true)!;
    let cur = 0;
    return {
      print(delta, max) {
        cur = Math.min(100, max === 0 ? delta : cur + (delta / 100) * max);
        bar.update(cur, 100);
      },
      end: () => bar.stop(),
    };
  }
  let current = 0;
  let lastPrint = 0;
  return {
    print(delta, max) {
      // qemu keeps the state in C floats.
      const f = Math.fround;
      current = f(Math.min(100, max === 0 ? delta : f(current + f(f(delta / 100) * max))));
      if (
        current > f(lastPrint + minSkip) ||
        current < f(lastPrint - minSkip) ||
        current === 100 ||
        current === 0
      ) {
        lastPrint = current;
        io.out(`    (${printf2(current)}/100%)\r`);
      }
    },
    end: () => io.out("\n"),
  };
}
