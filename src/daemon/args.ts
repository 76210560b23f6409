// tsvirtd's command line (DESIGN.md outside contract): --root, --listen-tcp HOST:PORT,
// --listen-tls HOST:PORT, --http HOST:PORT|off, --config FILE, --verbose, --help.

export interface DaemonArgs {
  root?: string;
  listenTcp?: { host: string; port: number };
  listenTls?: { host: string; port: number };
  http?: string;
  config?: string;
  verbose: boolean;
  help: boolean;
}

export const USAGE = `Usage: tsvirtd [options]

Options:
  --root DIR            keep config, state and sockets under DIR/etc, DIR/lib, DIR/run
  --listen-tcp H:P      also accept RPC clients on TCP (no TLS; auth none)
  --listen-tls H:P      also accept RPC clients over TLS (x509 from DIR/etc/pki)
  --http H:P|off        REST API and web UI address (off: disabled)
  --config FILE         read settings from FILE (libvirtd.conf syntax)
  -v, --verbose         debug logging
  -h, --help            this text
`;

export function parseHostPort(text: string, opt: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m) throw new Error(`${opt}: expected HOST:PORT, got '${text}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${opt}: bad port ${port}`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const out: DaemonArgs = { verbose: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: missing value`);
      return v;
    };
    switch (a) {
      case "--root":
        out.root = next();
        break;
      case "--listen-tcp":
        out.listenTcp = parseHostPort(next(), a);
        break;
      case "--listen-tls":
        out.listenTls = parseHostPort(next(), a);
        break;
      case "--http":
        out.http = next();
        break;
      case "--config":
      case "-f":
        out.config = next();
        break;
      case "-v":
      case "--verbose":
        out.verbose = true;
        break;
      case "-h":
      case "--help":
        out.help = true;
        break;
      default:
        throw new Error(`unknown option '${a}'`);
    }
  }
  return out;
}
