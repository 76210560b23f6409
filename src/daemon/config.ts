// tsvirtd's config file, in libvirtd.conf syntax (key = value; strings in quotes, integers,
// [lists]; # comments). Only the keys tsvirtd understands are kept; unknown keys are reported.
import { ErrorCode, ErrorDomain, VirError } from "../errors/index.js";

export interface DaemonConfig {
  listen_tcp?: boolean;
  tcp_port?: string;
  listen_addr?: string;
  keepalive_interval?: number;
  keepalive_count?: number;
  max_clients?: number;
  max_client_requests?: number;
  log_level?: number;
  http?: string;
  key_file?: string;
  cert_file?: string;
  ca_file?: string;
}

const KNOWN = new Set([
  "listen_tcp",
  "tcp_port",
  "listen_addr",
  "keepalive_interval",
  "keepalive_count",
  "max_clients",
  "max_client_requests",
  "log_level",
  "http",
  "key_file",
  "cert_file",
  "ca_file",
]);

type Value = string | number | boolean | Value[];

function parseValue(text: string, line: number, file: string): Value {
  const t = text.trim();
  if (t.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"$/.exec(t);
    if (!m) throw confError(file, line, "unterminated string");
    return m[1]!.replace(/\\(.)/g, "$1");
  }
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) throw confError(file, line, "unterminated list");
    const inner = t.slice(1, -1).trim();
    return inner === "" ? [] : inner.split(",").map((p) => parseValue(p, line, file));
  }
  if (/^-?\d+$/.test(t)) return Number(t);
  throw confError(file, line, `expecting a value, got '${t}'`);
}

function confError(file: string, line: number, what: string): VirError {
  return new VirError({
    code: ErrorCode.CONF_SYNTAX,
    domain: ErrorDomain.CONF,
    message: `configuration file syntax error: ${file}:${line}: ${what}`,
  });
}

/** Parses config text; returns the known settings and the names of keys it ignored. */
export function parseDaemonConfig(
  text: string,
  file = "tsvirtd.conf",
): { config: DaemonConfig; unknown: string[] } {
  const config: Record<string, unknown> = {};
  const unknown: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/(^|\s)#.*$/, "").trim();
    if (raw === "") continue;
    const eq = raw.indexOf("=");
    if (eq <= 0) throw confError(file, i + 1, "expecting an assignment");
    const key = raw.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw confError(file, i + 1, `bad key '${key}'`);
    const value = parseValue(raw.slice(eq + 1), i + 1, file);
    if (!KNOWN.has(key)) {
      unknown.push(key);
      continue;
    }
    config[key] = key === "listen_tcp" ? value === 1 : value;
  }
  return { config: config as DaemonConfig, unknown };
}
