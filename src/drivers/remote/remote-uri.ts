// Which URIs the remote driver serves and where it connects (libvirt's remote driver rules,
// adapted to tsvirtd's paths): a transport (+unix, +tcp) or a host means "remote"; the URI sent
// in CONNECT_OPEN drops the transport, host and the client-only parameters (socket=, …).
import { existsSync, readFileSync } from "node:fs";
import type { ConnectUri } from "../../driver/index.js";
import { uriParam } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import type { ClientTarget } from "../../rpc/client/client.js";
import { strerror } from "../../util/strerror.js";

const CLIENT_PARAMS = new Set([
  "socket",
  "no_verify",
  "no_tty",
  "pkipath",
  "keyfile",
  "mode",
  "proxy",
  "name",
]);

export function isRemoteUri(u: ConnectUri): boolean {
  if (u.transport !== undefined)
    return u.transport === "unix" || u.transport === "tcp" || u.transport === "tls";
  return u.host !== undefined && u.host !== "" && u.driver !== "test";
}

/**
 * The default socket: tsvirtd's <run>/libvirt-sock (system or XDG session). A read-only open of
 * the system daemon goes to its read-only socket, as libvirt's remote driver picks
 * libvirt-sock-ro for VIR_CONNECT_RO (virsh -r); a session daemon is reached on its one socket.
 */
export function defaultSocket(u: ConnectUri, env: NodeJS.ProcessEnv, uid: number, readOnly = false): string {
  if (u.path === "/system" || uid === 0) return `/run/tsvirt/libvirt-sock${readOnly ? "-ro" : ""}`;
  const base = env.XDG_RUNTIME_DIR ?? `${env.HOME ?? "/tmp"}/.cache`;
  return `${base}/tsvirt/libvirt-sock`;
}

export function remoteTarget(
  u: ConnectUri,
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.() ?? 1000,
  readOnly = false,
): ClientTarget {
  if (u.transport === "tcp") return { host: u.host || "localhost", port: u.port ?? 16509 };
  if (u.transport === "tls" || (u.transport === undefined && u.host)) {
    return { host: u.host || "localhost", port: u.port ?? 16514, tls: clientPki(u, env, uid) };
  }
  return { path: uriParam(u, "socket") ?? defaultSocket(u, env, uid, readOnly) };
}

/**
 * The client's x509 files as libvirt looks for them: ?pkipath=DIR, else ~/.pki/libvirt for a
 * normal user, else /etc/pki/CA/cacert.pem and /etc/pki/libvirt/{clientcert,private/clientkey}.pem.
 * As virNetTLSContextNewClientPath: the CA must be readable ("Cannot read CA certificate …");
 * a missing certificate or key only means the client presents none (the server may refuse it).
 */
export function clientPki(u: ConnectUri, env: NodeJS.ProcessEnv, uid: number) {
  const dir = uriParam(u, "pkipath") ?? (uid !== 0 ? `${env.HOME ?? "/root"}/.pki/libvirt` : undefined);
  const [caFile, certFile, keyFile] = dir
    ? [`${dir}/cacert.pem`, `${dir}/clientcert.pem`, `${dir}/clientkey.pem`]
    : ["/etc/pki/CA/cacert.pem", "/etc/pki/libvirt/clientcert.pem", "/etc/pki/libvirt/private/clientkey.pem"];
  let ca: Buffer;
  try {
    ca = readFileSync(caFile);
  } catch (e) {
    throw virError(
      ErrorCode.SYSTEM_ERROR,
      ErrorDomain.RPC,
      `Cannot read CA certificate '${caFile}': ${strerror(e)}`,
    );
  }
  const optional = (f: string) => (existsSync(f) ? readFileSync(f) : undefined);
  const cert = optional(certFile);
  const key = optional(keyFile);
  return cert && key ? { ca, cert, key } : { ca };
}

/** The URI the daemon should open: driver:///path?serverParams (libvirt's "name" param wins). */
export function serverUri(u: ConnectUri): string {
  const name = uriParam(u, "name");
  if (name) return name;
  const params = u.params.filter(([k]) => !CLIENT_PARAMS.has(k));
  const q = params.length
    ? `?${params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`
    : "";
  return `${u.driver}://${u.path}${q}`;
}
