// The daemon's log: pino's JSON lines ({"level":30,"time":…,"pid":…,"hostname":…,"name":…,
// bindings…, fields…, "msg":…}) on stderr, written without loading pino. pino and its dependencies
// (sonic-boom, thread-stream, the CommonJS loader's lexer for an ESM import) cost ~1 MiB of resident
// memory for the daemon's whole life (bench/rpc-define.ts, qemu:///, 500 domains defined: 62.0 ->
// 61.0 MiB), for the handful of calls the daemon makes. Callers still see pino's Logger type
// (tests pass real pino loggers to startDaemon and RpcServer); this object implements the part of
// it tsvirtd uses: the level methods with (fields, msg) or (msg), child, isLevelEnabled, flush.
import { writeSync } from "node:fs";
import { hostname } from "node:os";
import type { Logger } from "pino";

/** pino's level numbers. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevel = keyof typeof LOG_LEVELS | "silent";

type LogFn = (fieldsOrMsg?: object | string, msg?: string) => void;

const noop: LogFn = () => {};

/** JSON for one field value as pino's serializer writes it: bigints as numbers, no throw. */
function fieldsJson(fields: object): string {
  try {
    const text = JSON.stringify(fields, (_k, v: unknown) =>
      typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
    );
    return text.length > 2 ? `,${text.slice(1, -1)}` : "";
  } catch {
    return ',"logFields":"unserializable"';
  }
}

// What is still pending when the process exits (process.exit after a failed stop) is written then:
// one listener for every logger of the process.
const exitFlushes: (() => void)[] = [];
function atExit(flush: () => void): void {
  if (!exitFlushes.length)
    process.on("exit", () => {
      for (const f of exitFlushes) f();
    });
  exitFlushes.push(flush);
}

/**
 * A logger writing to `fd` (stderr), lines batched until the event loop turns (pino's
 * `destination({ sync: false })`); flush() writes what is pending now.
 */
export function daemonLogger(name: string, level: LogLevel = "info", fd = 2): Logger {
  const min = level === "silent" ? Number.POSITIVE_INFINITY : LOG_LEVELS[level];
  const head = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":${JSON.stringify(name)}`;
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!pending.length) return;
    let buf = Buffer.from(pending.join(""));
    pending = [];
    while (buf.length) {
      try {
        buf = buf.subarray(writeSync(fd, buf));
      } catch (e) {
        // a non-blocking stderr that is full: retry the rest shortly; anything else drops it
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return;
        pending.unshift(buf.toString());
        if (!scheduled) {
          scheduled = true;
          setTimeout(flush, 10);
        }
        return;
      }
    }
  };
  const write = (line: string) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  atExit(flush);
  const make = (bindings: string): Logger => {
    const log: Record<string, unknown> = {
      level,
      flush,
      isLevelEnabled: (l: string) => (LOG_LEVELS[l as keyof typeof LOG_LEVELS] ?? 0) >= min,
      child: (b: object) => make(bindings + fieldsJson(b)),
    };
    for (const [lname, n] of Object.entries(LOG_LEVELS)) {
      log[lname] =
        n < min
          ? noop
          : (((fieldsOrMsg, msg) => {
              let fields = "";
              if (typeof fieldsOrMsg === "string") msg = fieldsOrMsg;
              else if (fieldsOrMsg) fields = fieldsJson(fieldsOrMsg);
              const m = msg === undefined ? "" : `,"msg":${JSON.stringify(String(msg))}`;
              write(`{"level":${n},"time":${Date.now()},${head}${bindings}${fields}${m}}\n`);
            }) satisfies LogFn);
    }
    return log as unknown as Logger;
  };
  return make("");
}
