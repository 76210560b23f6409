// Connection URIs as libvirt reads them (virURIParse): driver[+transport]://[user@][host][:port]/path[?query].
// Pure parsing; the registry decides which driver a URI belongs to.

import { ErrorCode, ErrorDomain, virError } from "../errors/index.js";

export interface ConnectUri {
  /** The whole scheme, e.g. "qemu+unix". */
  scheme: string;
  /** The driver part of the scheme ("qemu", "test", "remote"). */
  driver: string;
  /** The part after '+' ("unix", "tls", "tcp", "ssh"), or undefined. */
  transport?: string;
  user?: string;
  host?: string;
  port?: number;
  /** The path, e.g. "/system", "/default", "/tmp/node.xml" (empty when none). */
  path: string;
  /** Query parameters in order, decoded. */
  params: [string, string][];
  /** The original text. */
  text: string;
}

/** Parses a connection URI; throws VIR_ERR_INTERNAL_ERROR "Unable to parse URI" like libvirt. */
export function parseConnectUri(text: string): ConnectUri {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/.exec(text);
  if (!m) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.URI, `Unable to parse URI ${text}`);
  const scheme = m[1]!;
  const plus = scheme.indexOf("+");
  const u: ConnectUri = {
    scheme,
    driver: plus < 0 ? scheme : scheme.slice(0, plus),
    path: decodeURIComponent(m[3] ?? ""),
    params: [],
    text,
  };
  if (plus >= 0) u.transport = scheme.slice(plus + 1);
  const authority = m[2];
  if (authority) {
    let hostport = authority;
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      u.user = decodeURIComponent(authority.slice(0, at));
      hostport = authority.slice(at + 1);
    }
    const pm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostport);
    if (!pm) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.URI, `Unable to parse URI ${text}`);
    if (pm[1]) u.host = pm[1].startsWith("[") ? pm[1].slice(1, -1) : pm[1];
    if (pm[2]) u.port = Number(pm[2]);
  }
  if (m[4]) {
    for (const part of m[4].split(/[&;]/)) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const k = eq < 0 ? part : part.slice(0, eq);
      const v = eq < 0 ? "" : part.slice(eq + 1);
      u.params.push([decodeURIComponent(k.replace(/\+/g, " ")), decodeURIComponent(v.replace(/\+/g, " "))]);
    }
  }
  return u;
}

/** First value of a query parameter. */
export function uriParam(u: ConnectUri, name: string): string | undefined {
  for (const [k, v] of u.params) if (k === name) return v;
  return undefined;
}
