// The virsh session (vshControl + virshControl): output streams, quiet mode, the open connection,
// the last libvirt error, and running parsed commands with virsh's error reporting.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import process from "node:process";
import { Writable } from "node:stream";
import { ErrorCode, ErrorDomain, isVirError, VirError } from "../../errors/index.js";
import type { CmdDef, Ctl, GroupDef, ParsedCmd } from "./command.js";
import { dumpXPath } from "./format/xpath.js";
import { argvTokenizer, parseCommands, stringTokenizer, type Tokenizer } from "./parse.js";
import { errnoText } from "../../util/strerror.js";

/** A command failure with virsh's own message first ("Failed to start domain 'x'") and the
 * libvirt error that caused it, which is reported second (vshError, then vshReportError). */
export class CmdFailure extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export interface ControlOptions<Conn> {
  out: Writable;
  err: Writable;
  quiet?: boolean;
  uri?: string | null;
  readOnly?: boolean;
  groups: GroupDef[];
  /** Opens a connection (virConnectOpenAuth); throws VirError. */
  open?: (uri: string | null, readOnly: boolean) => Promise<Conn>;
  /** Closes a connection. */
  close?: (conn: Conn) => Promise<void>;
}

export class VirshControl<Conn = unknown> implements Ctl {
  out: Writable;
  readonly err: Writable;
  quiet: boolean;
  uri: string | null;
  readOnly: boolean;
  conn: Conn | null = null;
  /** Interactive mode; `quit`/`exit` clear it. */
  imode = false;
  /** Timing (-t) prints each command's duration. */
  timing = false;
  /** Escape character for console (-e); kept for compatibility. */
  escapeChar = "^]";
  debugLevel = -1;
  /** Directory that relative file names resolve against (`cd` changes it). */
  cwd = process.cwd();
  /** -l FILE: every command line run is appended here. */
  logLine: ((line: string) => void) | null = null;
  lastError: VirError | null = null;
  readonly groups: GroupDef[];
  private readonly byName = new Map<string, CmdDef>();
  private readonly openFn?: (uri: string | null, readOnly: boolean) => Promise<Conn>;
  private readonly closeFn?: (conn: Conn) => Promise<void>;

  constructor(o: ControlOptions<Conn>) {
    this.out = o.out;
    this.err = o.err;
    this.quiet = o.quiet ?? false;
    this.uri = o.uri ?? null;
    this.readOnly = o.readOnly ?? false;
    this.groups = o.groups;
    this.openFn = o.open;
    this.closeFn = o.close;
    for (const g of o.groups) {
      for (const c of g.commands) this.byName.set(c.name, c);
      for (const h of g.hidden ?? []) this.byName.set(h.name, h.def);
    }
  }

  find(name: string): CmdDef | undefined {
    return this.byName.get(name);
  }

  /** Reads a file named on the command line (virFileReadAll), relative to `cwd`. */
  async readFile(path: string): Promise<string> {
    try {
      return await readFile(resolve(this.cwd, path), "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = errnoText(code) ?? String(code);
      // virFileReadAll: opening a directory works, reading it fails
      if (code === "EISDIR") throw new CmdFailure(`Failed to read file '${path}': Is a directory`);
      throw new CmdFailure(`Failed to open file '${path}': ${why}`);
    }
  }

  print(s: string): void {
    this.out.write(s);
  }

  printExtra(s: string): void {
    if (!this.quiet) this.out.write(s);
  }

  /** vshDebug: levels DEBUG=0 … ERROR=4; shown on stdout when level >= the -d level. */
  debug(level: number, msg: string): void {
    if (this.debugLevel >= 0 && level >= this.debugLevel) this.out.write(msg);
  }

  error(msg: string): void {
    this.err.write(`error: ${msg}\n`);
  }

  /** Records a libvirt error to be shown by reportError when the command fails. */
  setError(e: unknown): void {
    if (isVirError(e)) this.lastError = e;
    else if (e instanceof Error) this.lastError = new VirError({ code: 1, domain: 0, message: e.message });
  }

  /** vshReportError: prints the pending libvirt error, if any. */
  reportError(): void {
    if (this.lastError) this.error(this.lastError.message);
    this.lastError = null;
  }

  /** -k / -K (virsh's keepalive_interval/count); -1 when not given. */
  keepaliveInterval = -1;
  keepaliveCount = -1;
  /** virsh's `disconnected`: the last failure looked like a lost connection, so the next command
   * that needs one reconnects (and says so). */
  private disconnected = 0;

  /**
   * virshReconnect: (re)opens the session connection. `name` null reopens the session's own URI
   * (-c, VIRSH_DEFAULT_CONNECT_URI, LIBVIRT_DEFAULT_URI or the library default) with the session's
   * read-only flag; a named connection that opens becomes the session's URI. On failure prints
   * virsh's "failed to connect" line and leaves the library error for reportError.
   */
  async connect(name: string | null, readOnly: boolean, force = true): Promise<boolean> {
    if (!this.openFn) return false;
    const ro = name !== null ? readOnly : readOnly || this.readOnly;
    const uri = name ?? this.uri;
    let connected = false;
    if (this.conn) {
      connected = true;
      const old = this.conn;
      this.conn = null;
      await this.closeFn?.(old).catch(() => {});
    }
    this.lastError = null;
    let conn: Conn | null = null;
    try {
      conn = await this.openFn(uri, ro);
      // virshConnect: keepalive (default every 5 s, 6 missed) is set up unless -k 0; only remote
      // connections support it (test:/// runs in-process, as virsh's own test driver)
      const interval = this.keepaliveInterval >= 0 ? this.keepaliveInterval : 5;
      const forced = this.keepaliveInterval >= 0 || this.keepaliveCount >= 0;
      if (interval > 0 && uri?.startsWith("test:")) {
        if (forced) {
          this.error("Cannot setup keepalive on connection as requested, disconnecting");
          await this.closeFn?.(conn).catch(() => {});
          conn = null;
          this.lastError = new VirError({
            code: ErrorCode.NO_SUPPORT,
            domain: ErrorDomain.NONE,
            message: "this function is not supported by the connection driver: virConnectSetKeepAlive",
          });
        } else this.debug(1, "Failed to setup keepalive on connection\n");
      }
    } catch (e) {
      this.setError(e);
    }
    if (!conn) {
      this.error(
        this.disconnected ? "Failed to reconnect to the hypervisor" : "failed to connect to the hypervisor",
      );
      return false;
    }
    this.conn = conn;
    if (name !== null) this.uri = name;
    this.readOnly = ro;
    if (connected && !force) this.error("Reconnected to the hypervisor");
    this.disconnected = 0;
    return true;
  }

  async disconnect(): Promise<void> {
    if (this.conn && this.closeFn) await this.closeFn(this.conn).catch(() => {});
    this.conn = null;
  }

  /** Parses one command string (`;`-separated commands); null on a syntax error. */
  parseString(text: string): ParsedCmd[] | null {
    return this.parse(stringTokenizer(text));
  }

  parseArgv(args: readonly string[]): ParsedCmd[] | null {
    return this.parse(argvTokenizer(args));
  }

  private parse(tk: Tokenizer): ParsedCmd[] | null {
    return parseCommands(
      tk,
      this,
      (m) => this.error(m),
      (def, o) =>
        this.debug(
          1,
          `${def.name}: ${o.def.name}(${o.def.type === "bool" ? "bool" : "optdata"}): ${o.value ?? "(none)"}\n`,
        ),
    );
  }

  /** vshCommandRun: runs each command, reports failures, returns the last command's result. */
  async run(cmds: readonly ParsedCmd[]): Promise<boolean> {
    let ret = true;
    for (const cmd of cmds) {
      const before = performance.now();
      this.lastError = null;
      // virshConnectionHandler: the first command that needs the connection opens it
      if (
        !cmd.def.noConnect &&
        (!this.conn || this.disconnected) &&
        !(await this.connect(null, false, false))
      )
        ret = false;
      else if (!cmd.def.noConnect && !this.conn) {
        this.error("no valid connection");
        ret = false;
      } else {
        ret = await this.invoke(cmd);
      }
      const le = this.lastError as VirError | null;
      if (
        !ret &&
        le &&
        ((le.code === ErrorCode.SYSTEM_ERROR && le.domain === ErrorDomain.REMOTE) ||
          le.code === ErrorCode.RPC ||
          le.code === ErrorCode.NO_CONNECT ||
          le.code === ErrorCode.INVALID_CONN)
      )
        this.disconnected++;
      if (!ret) this.reportError();
      if (cmd.def.name === "quit" || cmd.def.name === "exit") return ret;
      if (this.timing) this.print(`\n(Time: ${(performance.now() - before).toFixed(3)} ms)\n\n`);
      else this.printExtra("\n");
    }
    return ret;
  }

  private async invoke(cmd: ParsedCmd): Promise<boolean> {
    const h = cmd.def.handler;
    if (!h) {
      this.error(`command '${cmd.def.name}' is not implemented in tsvirsh`);
      return false;
    }
    // the *-dumpxml commands' --xpath/--wrap filter what the command prints (virshDumpXML)
    const xpath = cmd.def.opts.some((o) => o.name === "wrap")
      ? cmd.opts.find((o) => o.def.name === "xpath")
      : undefined;
    const realOut = this.out;
    let captured = "";
    if (xpath) {
      this.out = new Writable({
        write(chunk, _enc, cb) {
          captured += chunk.toString();
          cb();
        },
      });
    }
    try {
      const ok = await h(this, cmd);
      if (!xpath) return ok;
      this.out = realOut;
      // a failure (or net-port-dumpxml's lookup failure, which virsh lets succeed) prints as is
      if (!ok || captured === "") {
        this.print(captured);
        return ok;
      }
      // an empty expression fails without a message, after the lookup
      if (!xpath.value) return false;
      const wrap = cmd.opts.some((o) => o.def.name === "wrap");
      let text: string;
      try {
        text = dumpXPath(captured, xpath.value, wrap, (m) => this.err.write(m));
      } catch (e) {
        this.setError(e);
        return false;
      }
      this.print(text);
      return true;
    } catch (e) {
      if (xpath) {
        this.out = realOut;
        this.print(captured);
        // virsh reads an empty --xpath right after looking the object up and fails silently:
        // only a lookup failure comes before it
        const lookup =
          /^(failed to get (domain|network|pool|vol|interface|secret|nwfilter) |Could not find matching device|Domain snapshot not found)/;
        if (!xpath.value && !(e instanceof Error && lookup.test(e.message))) return false;
      }
      if (e instanceof CmdFailure) {
        this.error(e.message);
        if (e.cause !== undefined) this.setError(e.cause);
      } else if (isVirError(e)) {
        this.setError(e);
      } else {
        this.setError(e);
      }
      return false;
    }
  }

  /** Parses and runs one command string; false (exit status 1) on a syntax error or failure. */
  /** `interactive`: a line typed at the prompt, which virsh parses without the "commands:" debug line. */
  async runString(text: string, interactive = false): Promise<boolean> {
    this.logLine?.(text);
    if (text === "") return false;
    if (!interactive) this.debug(1, `commands: "${text}"\n`);
    const cmds = this.parseString(text);
    if (!cmds) return false;
    return this.run(cmds);
  }

  async runArgv(args: readonly string[]): Promise<boolean> {
    if (args.length === 0) return false;
    const cmds = this.parseArgv(args);
    if (!cmds) return false;
    return this.run(cmds);
  }
}
