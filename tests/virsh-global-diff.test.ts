// Differential test of tsvirsh's session behaviour against the installed real virsh 9.0, live:
// the same argv, environment and standard input go to `virsh` (a process) and to tsvirsh's
// virshMain (in-process, with the tsvirsh program's drivers); stdout, stderr and exit status must be
// identical. Covers what the scripted goldens do not: the global options (-c, -r, -q, -d, -e, -k,
// -K, -t, -v, -V, --version, unknown options, --), when the connection opens (virsh opens a -c URI
// at start and the default one lazily, at the first command that needs it), connect/reconnect,
// the hidden commands (complete, self-test, the nodedev-dettach alias), every command's help text
// (`help CMD`, `CMD --help`, `help GROUP`), and the interactive shell fed from a pipe.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openConnection } from "../src/api/index.js";
import { virshGroups, virshMain } from "../src/cli/virsh/index.js";
import { type ConnectUri, registerConnectionDriver } from "../src/driver/index.js";
import { remoteConnectionDriver } from "../src/drivers/remote/remote-driver.js";
import { registerTestDriver } from "../src/drivers/test/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const haveVirsh = spawnSync("virsh", ["--version"]).status === 0;

/** A default URI whose daemon is certainly absent, the same text for both programs. */
const NO_DAEMON = "qemu+unix:///system?socket=/nonexistent/tsvirt-test/sock";
const TEST = "test:///default";

export interface Case {
  args: string[];
  input?: string;
  env?: Record<string, string>;
}

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

let registered = false;
async function setup(): Promise<void> {
  if (registered) return;
  registered = true;
  // as src/bin/tsvirsh.ts composes them
  registerConnectionDriver({
    name: "remote-local",
    accepts: (u: ConnectUri) => u.transport === undefined && !u.host && u.driver !== "test",
    open: (u, opts) => remoteConnectionDriver.open({ ...u, transport: "unix" }, opts),
  });
  registerConnectionDriver(remoteConnectionDriver);
  await registerTestDriver();
}

/** Per-run values: -t's timings; the test driver's CPU time, which is the wall clock. */
function normalize(s: string): string {
  return s
    .replace(/\(Time: \d+\.\d{3} ms\)/g, "(Time: T ms)")
    .replace(/^(CPU time: +)\d+\.\ds$/gm, "$1<clock>s");
}

function baseEnv(c: Case): Record<string, string | undefined> {
  // the edit commands' editor changes nothing (tsvirsh in-process reads process.env)
  process.env.EDITOR = "true";
  process.env.VISUAL = "true";
  const env: Record<string, string | undefined> = { ...process.env, LC_ALL: "C" };
  delete env.VIRSH_DEFAULT_CONNECT_URI;
  delete env.LIBVIRT_DEFAULT_URI;
  return { ...env, ...(c.env ?? {}) };
}

export function runVirsh(c: Case) {
  const r = spawnSync("virsh", c.args, {
    cwd: root,
    env: baseEnv(c) as NodeJS.ProcessEnv,
    input: c.input ?? "",
    encoding: "utf8",
    timeout: 20000,
  });
  return { stdout: normalize(r.stdout), stderr: normalize(r.stderr), status: r.status };
}

export async function runTsvirsh(c: Case) {
  await setup();
  const out = new Capture();
  const err = new Capture();
  const status = await virshMain({
    argv: c.args,
    env: baseEnv(c),
    stdin: Readable.from([c.input ?? ""]),
    stdout: out,
    stderr: err,
    isTTY: false,
    groups: virshGroups(),
    open: (uri, readOnly) => openConnection(uri ?? "qemu:///system", { readOnly }),
    close: (conn) => conn.close(),
  });
  return { stdout: normalize(out.text), stderr: normalize(err.text), status };
}

const nd = { LIBVIRT_DEFAULT_URI: NO_DAEMON };
const t = (...args: string[]): Case => ({ args: ["-c", TEST, ...args] });

/** When the connection opens, and what a failed one prints. */
const CONNECT: Case[] = [
  { args: ["help"], env: nd },
  { args: ["echo", "hi"], env: nd },
  { args: ["pwd"], env: nd },
  { args: ["-t", "echo", "x"], env: nd },
  { args: ["-d0", "echo", "x"], env: nd },
  { args: ["-d0", "list"], env: nd },
  { args: ["list"], env: nd },
  { args: ["-q", "list"], env: nd },
  { args: ["list; list"], env: nd },
  { args: ["echo a; list; echo b"], env: nd },
  { args: ["-r", "list; echo x"], env: nd },
  { args: ["uri"], env: nd },
  { args: ["complete", "--", "li"], env: nd },
  { args: ["self-test"], env: nd },
  { args: ["echo a; uri"], env: { VIRSH_DEFAULT_CONNECT_URI: NO_DAEMON } },
  { args: ["uri"], env: { VIRSH_DEFAULT_CONNECT_URI: TEST, LIBVIRT_DEFAULT_URI: NO_DAEMON } },
  { args: ["-c", NO_DAEMON, "echo", "x"] },
  { args: ["-c", NO_DAEMON, "help"] },
  { args: ["-c", NO_DAEMON], input: "echo x\n" },
  { args: ["-c", NO_DAEMON, "nosuch"] },
  { args: ["-c", NO_DAEMON, 'echo "a'] },
  { args: [], input: "echo x\nlist\nconnect test:///default\nlist --name\n", env: nd },
  { args: ["connect test:///default; uri; list --name"], env: nd },
  t("connect qemu+unix:///system?socket=/nonexistent/x; echo hi; list"),
  { args: ["connect foo:///x?socket=/nonexistent/x; uri"], env: { LIBVIRT_DEFAULT_URI: TEST } },
  t("connect --readonly; define /dev/null"),
  { args: ["-c", TEST, "-r", "connect; define /dev/null"] },
  { args: ["-r", "-c", TEST, "connect test:///default; define /dev/null"] },
  t("connect --readonly; list --name; connect; define /dev/null"),
  t("connect; uri"),
  { args: ["-c", TEST, "-d", "1", "echo", "hi"] },
  { args: ["-c", TEST, "-d", "1", "echo hi; list --name"] },
  { args: ["-d", "1", "echo hi; list --name; uri"], env: { LIBVIRT_DEFAULT_URI: TEST } },
];

/** Global options (virshParseArgv). */
const GLOBAL: Case[] = [
  t("-k", "5", "list", "--name"),
  t("-k", "0", "-d0", "list", "--name"),
  { args: ["-K", "3", "echo a; list --name"], env: { LIBVIRT_DEFAULT_URI: TEST } },
  t("-k", "0", "-K", "99", "uri"),
  t("-K", "0", "list"),
  t("-k", "-1", "list"),
  t("-k", "abc", "list"),
  t("-K", "abc", "list"),
  t("--keepalive-interval=x", "uri"),
  t("--keepalive-count", "-2", "uri"),
  t("-k", "2147483648", "uri"),
  t("-k", "2147483647", "uri"),
  t("-k", "", "uri"),
  t("-k", " 5", "uri"),
  t("-k", "+0", "uri"),
  t("-k", "0x0", "uri"),
  t("-k", "00", "uri"),
  t("-k", "08", "uri"),
  t("-d", "5", "list"),
  t("-d", "-1", "list"),
  t("-d", "x", "list"),
  t("--debug=x", "list"),
  t("--debug", "0x1", "uri"),
  t("-d", " 1", "uri"),
  t("-d", "08", "uri"),
  t("-d", "5", "-d", "1", "echo a"),
  t("-d", "1", "-d", "5", "echo a"),
  t("-d", "2", "list"),
  t("-d", "4", "dominfo nosuch"),
  t("-d", "3", "dominfo nosuch"),
  t("-d", "0", "dominfo nosuch"),
  t("-e", "x", "list"),
  t("-e", "^x", "uri"),
  t("-e", "^1", "uri"),
  t("-e", "^", "uri"),
  t("-e", "^A", "uri"),
  t("-e", "^@", "uri"),
  t("-e", "^_", "uri"),
  t("-e", "^[", "uri"),
  t("-e", "^`", "uri"),
  t("-e", "^~", "uri"),
  t("-e", "~", "uri"),
  t("-e", "ab", "uri"),
  t("-e", "^ab", "uri"),
  t("-e", "\u00e9", "uri"),
  t("-e", "", "uri"),
  t("--escape", "@", "uri"),
  t("-t", "list --name; uri"),
  t("-q", "-t", "list"),
  { args: ["-qt", "-c", TEST, "echo a"] },
  t("-v"),
  t("-V"),
  t("-v", "list"),
  t("-h", "list"),
  t("--version", "uri"),
  { args: ["--version"] },
  { args: ["--version=long"] },
  { args: ["--version=short"] },
  { args: ["--version=foo"] },
  { args: ["--version="] },
  { args: ["--version", "long"] },
  { args: ["--vers"] },
  { args: ["--conn=test:///default", "uri"] },
  { args: ["--co", TEST, "uri"] },
  { args: ["--q"] },
  { args: ["--re", "-c", TEST, "uri"] },
  { args: ["-z"] },
  { args: ["--zzz"] },
  { args: ["-c"] },
  { args: ["--connect"] },
  { args: ["-qz"] },
  { args: ["--help"] },
  { args: ["-h"] },
  t("--", "list", "--name"),
  t("--", "--", "list"),
  t("-"),
  t(""),
  t("list", "--name", "--", "x"),
  t("echo", "--", "--name"),
  t("-l", "/dev/null", "list"),
  t("-rq", "list --name; define /dev/null"),
];

/** Hidden commands and command-level parsing. */
const COMMANDS: Case[] = [
  t("complete", "--", "li"),
  t("complete", "--", ""),
  t("complete", "--", "x"),
  t("complete", "--", "list --"),
  t("complete", "net-li"),
  t("complete", "dom", "x"),
  t("complete", "list", "--"),
  t("complete --foo"),
  t("self-test"),
  t("self-test --foo"),
  t("nodedev-dettach"),
  t("nodedev-dettach", "--foo"),
  t("nodedev-dettach", "x"),
  t("nodedev-dettach", "--help"),
  t("list", "-h"),
  t("list", "--help", "--all"),
  t("list --all --help"),
  t("help list --all"),
  t("help", "list", "dominfo"),
  t("help --command list"),
  t("help --command"),
  t("help DOMAIN"),
  t("help 'Domain Management'"),
  t("help 'Virsh itself'"),
  t("help nosuch"),
];

/** Command strings, quoting, comments, option errors, the interactive shell on a pipe. */
const PARSING: Case[] = [
  { args: ["-c", "test:///default"], input: "list; dominfo test\n" },
  { args: ["-c", "test:///default"], input: "list\n\n  \n# comment\ndominfo test # trailing\nquit\nlist\n" },
  { args: ["-c", "test:///default"], input: "exit\n" },
  { args: ["-c", "test:///default"], input: "echo 'a b' \"c d\" e\\ f\n" },
  { args: ["-c", "test:///default"], input: 'echo "a\n' },
  { args: ["-c", "test:///default"], input: "echo a\\\nb\n" },
  { args: ["-c", "test:///default"], input: "nosuch\nlist --foo\n" },
  { args: ["-c", "test:///default"], input: "cd /tmp\npwd\ncd /nonexistent\ncd\npwd\n" },
  { args: ["-c", "test:///default", "-q"], input: "list\nuri\n" },
  { args: ["-c", "test:///default", "-r"], input: "uri\ndestroy test\n" },
  { args: ["-c", "test:///default", "-t"], input: "echo a\n" },
  { args: ["-c", "test:///default"], input: "echo a" },
  { args: ["-c", "test:///default"], input: "" },
  { args: ["-c", "test:///default"], input: "quit extra\n" },
  { args: ["-c", "test:///default"], input: "connect test:///default\nlist --name\n" },
  { args: ["-c", "test:///default"], input: "help echo\n" },
  { args: ["-c", "test:///default"], input: "echo a; quit; echo b\necho c\n" },
  { args: ["-c", "test:///default"], input: "destroy test; start test; list --all\n" },
  { args: ["-c", "test:///default"], input: "echo a;;echo b\n" },
  { args: ["-c", "test:///default"], input: ";\n" },
  { args: ["-c", "test:///default"], input: "echo #x\n" },
  { args: ["-c", "test:///default"], input: "echo a#x\n" },
  { args: ["-c", "test:///default"], input: "echo 'a#x' \"#y\"\n" },
  { args: ["-c", "test:///default", "echo a;;echo b"] },
  { args: ["-c", "test:///default", ";"] },
  { args: ["-c", "test:///default", "echo a; "] },
  { args: ["-c", "test:///default", " "] },
  { args: ["-c", "test:///default", "#"] },
  { args: ["-c", "test:///default", "echo a # b; echo c"] },
  { args: ["-c", "test:///default", "echo a\n echo b"] },
  { args: ["-c", "test:///default", "echo 'a\\' b"] },
  { args: ["-c", "test:///default", 'echo "a\\"b" \'c"d\''] },
  { args: ["-c", "test:///default", 'echo "a\'b"'] },
  { args: ["-c", "test:///default", "echo a\\"] },
  { args: ["-c", "test:///default", 'echo ""'] },
  { args: ["-c", "test:///default", "echo ''"] },
  { args: ["-c", "test:///default", "echo", ""] },
  { args: ["-c", "test:///default", "echo", "a;b"] },
  { args: ["-c", "test:///default", "echo", "#a"] },
  { args: ["-c", "test:///default", "echo", "--shell", "a b", "c'd", "$x", ""] },
  { args: ["-c", "test:///default", "echo", "--xml", "<a>&'\""] },
  { args: ["-c", "test:///default", "echo", "--split", "a,b,,c", ",d,"] },
  { args: ["-c", "test:///default", "echo", "--split", "--shell", "a"] },
  { args: ["-c", "test:///default", "echo", "--err", "oops"] },
  { args: ["-c", "test:///default", "echo", "--str", "a"] },
  { args: ["-c", "test:///default", "echo", "--string", "a", "--string", "b"] },
  { args: ["-c", "test:///default", "echo", "--", "-x", "--y"] },
  { args: ["-c", "test:///default", "echo", "-x"] },
  { args: ["-c", "test:///default", "echo", "-"] },
  { args: ["-c", "test:///default", "echo", "--"] },
  { args: ["-c", "test:///default", "echo", "---x"] },
  { args: ["-c", "test:///default", "LIST"] },
  { args: ["-c", "test:///default", "list-"] },
  { args: ["-c", "test:///default", "1list"] },
  { args: ["-c", "test:///default", "li"] },
  { args: ["-c", "test:///default", "--list"] },
  { args: ["-c", "test:///default", "list", "--al"] },
  { args: ["-c", "test:///default", "list", "--all=yes"] },
  { args: ["-c", "test:///default", "list", "--all", "--all"] },
  { args: ["-c", "test:///default", "list", "--inactive", "--all"] },
  { args: ["-c", "test:///default", "list", "x"] },
  { args: ["-c", "test:///default", "list", "-a"] },
  { args: ["-c", "test:///default", "dominfo"] },
  { args: ["-c", "test:///default", "dominfo", "--domain"] },
  { args: ["-c", "test:///default", "dominfo", "--domain="] },
  { args: ["-c", "test:///default", "dominfo", ""] },
  { args: ["-c", "test:///default", "dominfo", "test", "test"] },
  { args: ["-c", "test:///default", "dominfo", "--domain", "test", "test"] },
  { args: ["-c", "test:///default", "dominfo", "--domain", "test", "--domain", "test"] },
  { args: ["-c", "test:///default", "dominfo", "test", "--domain", "test"] },
  { args: ["-c", "test:///default", "dominfo", "--domain=test"] },
  { args: ["-c", "test:///default", "dominfo", "--dom", "test"] },
  { args: ["-c", "test:///default", "setmem", "test"] },
  { args: ["-c", "test:///default", "setmem", "test", "abc"] },
  { args: ["-c", "test:///default", "setmem", "test", "--size"] },
  { args: ["-c", "test:///default", "setmem", "test", "--size", "1G", "--size", "2G"] },
  { args: ["-c", "test:///default", "setmem", "test", "-1"] },
  { args: ["-c", "test:///default", "setmem", "test", "1G", "--live", "--config"] },
  { args: ["-c", "test:///default", "setmem", "test", "1G", "--current", "--live"] },
  { args: ["-c", "test:///default", "vcpucount", "test", "--maximum", "--active"] },
  { args: ["-c", "test:///default", "schedinfo", "test", "--set", "x"] },
  { args: ["-c", "test:///default", "schedinfo", "test", "--set", "weight=abc"] },
  { args: ["-c", "test:///default", "attach-disk", "test"] },
  { args: ["-c", "test:///default", "attach-disk", "test", "/x"] },
  { args: ["-c", "test:///default", "vol-create-as", "default-pool", "v", "1"] },
  { args: ["-c", "test:///default", "vol-create-as", "default-pool", "v", "1x"] },
  { args: ["-c", "test:///default", "domstate", "--reason", "test", "--bogus"] },
  { args: ["-c", "test:///default", "send-key", "test"] },
  { args: ["-c", "test:///default", "send-key", "test", "KEY_A", "--codeset", "foo"] },
  { args: ["-c", "test:///default", "event", "--list"] },
  { args: ["-c", "test:///default", "event"] },
  { args: ["-c", "test:///default", "help", "--foo"] },
  { args: ["-c", "test:///default", "help", "a", "b"] },
  { args: ["-c", "test:///default", "cd"] },
  { args: ["-c", "test:///default", "quit", "x"] },
  { args: ["-c", "test:///default", "echo a; quit; echo b"] },
  { args: ["-c", "test:///default", "echo a; exit; echo b"] },
  { args: ["-c", "test:///default", "nosuch; echo b"] },
  { args: ["-c", "test:///default", "echo b; nosuch"] },
  { args: ["-c", "test:///default", "dominfo nosuch; echo b"] },
  { args: ["-c", "test:///default", "echo b; dominfo nosuch"] },
  { args: ["-c", "test:///default", "-q", "dominfo nosuch; echo b"] },
  {
    args: ["-c", "test:///default", "-q"],
    input:
      'cd /etc/passwd\ncd /root/..\npwd\ncd ""\npwd\ncd --dir /tmp\npwd\ncd a b\ncd /nonexistent\ncd ~\n',
  },
  { args: ["-c", "test:///default"], input: "cd /tmp\npwd\ncd /nonexistent\ncd\npwd\n" },
];

/** schedinfo's set forms (--set, --weight, --cap) and flag combinations. */
const SCHEDINFO: Case[] = [
  { args: ["-c", "test:///default", "schedinfo test --set weight=10"] },
  { args: ["-c", "test:///default", "schedinfo test --weight 10"] },
  { args: ["-c", "test:///default", "schedinfo test --cap 10"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=10 --live"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=10 --config --live"] },
  { args: ["-c", "test:///default", "schedinfo test --live --config"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=-1"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight="] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=4294967296"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=-4294967295"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=-4294967296"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=1 --set weight=2"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=1 --weight 2"] },
  { args: ["-c", "test:///default", "schedinfo test --weight ''"] },
  { args: ["-c", "test:///default", "schedinfo test --set =5"] },
  { args: ["-c", "test:///default", "schedinfo test --set x"] },
  { args: ["-c", "test:///default", "schedinfo test --set x --weight ''"] },
  { args: ["-c", "test:///default", "schedinfo test --current"] },
  { args: ["-c", "test:///default", "schedinfo test --live"] },
  { args: ["-c", "test:///default", "schedinfo test --current --live"] },
  { args: ["-c", "test:///default", "schedinfo test --set 'weight= 5'"] },
  { args: ["-c", "test:///default", "schedinfo test --set weight=0x10"] },
  { args: ["-c", "test:///default", "schedinfo test weight=7"] },
  { args: ["-c", "test:///default", "schedinfo test weight=7 cap=1"] },
  { args: ["-c", "test:///default", "schedinfo nosuch --set weight=1"] },
  { args: ["-c", "test:///default", "-r", "schedinfo test --set weight=1"] },
  { args: ["-c", "test:///default", "-r", "schedinfo test --set weight=1 --live"] },
  { args: ["-c", "test:///default", "schedinfo --set weight=1 test"] },
];

/** Domain XML for the list cases: a long name and title, non-ASCII and control characters. */
const LIST_XML: Record<string, string> = {
  long: "<domain type='test'>\n  <uuid>11111114-0000-4000-8000-000000000005</uuid><name>a-very-long-domain-name-that-goes-past-the-usual-column-width</name>\n  <title>A title that is rather long and has spaces in it</title>\n  <description>some description</description>\n  <memory>1048576</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n",
  t2: "<domain type='test'>\n  <uuid>11111112-0000-4000-8000-000000000002</uuid><name>t2</name>\n  <title>Multi\nline title</title>\n  <memory>1048576</memory>\n  <vcpu>2</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n",
  u: "<domain type='test'>\n  <uuid>11111113-0000-4000-8000-000000000003</uuid><name>ünïcode-名前</name>\n  <title>タイトル</title>\n  <memory>1048576</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n",
  e: "<domain type='test'>\n  <uuid>11111111-0000-4000-8000-000000000001</uuid><name>e</name>\n  <title></title>\n  <memory>1048576</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n",
  tt: "<domain type='test'>\n  <uuid>11111116-0000-4000-8000-000000000006</uuid>\n  <name>tab\tname\\x41</name>\n  <title>tab\ttitle \\x and ü</title>\n  <memory>1048576</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n",
};

const LISTS = [
  "list",
  "list --all",
  "list --inactive",
  "list --title",
  "list --all --title",
  "list --name",
  "list --uuid",
  "list --name --uuid",
  "list --all --name --title",
  "list --table --name",
  "list --table --uuid",
  "list --all --uuid --title",
  "list --id",
  "list --all --id",
  "list --title --table",
  "list --transient",
  "list --persistent --all",
  "list --state-running",
  "list --state-shutoff",
  "list --state-paused --state-other",
  "list --autostart",
  "list --no-autostart --all",
  "list --with-managed-save",
  "list --without-managed-save --all",
  "list --managed-save --all",
  "list --with-snapshot",
  "list --without-snapshot --all",
  "list --with-checkpoint",
  "list --without-checkpoint --all",
  "list --all --name --id",
  "list --all --uuid --id",
  "list --all --name --table",
  "list --inactive --name",
  "list --state-shutoff --name",
  "list --all --managed-save --title",
  "list --state-running --state-shutoff",
  "list --state-shutoff --all",
];

const OTHER_LISTS = [
  "net-list",
  "net-list --all",
  "net-list --name",
  "net-list --uuid",
  "net-list --table",
  "net-list --inactive",
  "pool-list",
  "pool-list --all",
  "pool-list --details",
  "pool-list --name",
  "pool-list --uuid",
  "pool-list --all --details",
  "pool-list --type dir",
  "pool-list --type disk",
  "pool-list --transient",
  "vol-list default-pool",
  "vol-list default-pool --details",
  "iface-list",
  "iface-list --all",
  "iface-list --inactive",
  "nodedev-list",
  "nodedev-list --tree",
  "nodedev-list --cap pci",
  "secret-list",
  "nwfilter-list",
  "nwfilter-binding-list",
  "snapshot-list test",
  "snapshot-list test --tree",
  "checkpoint-list test",
  "net-port-list default",
  "net-dhcp-leases default",
];

/** domstats: every group option, the list filters, with and without domain names. */
const DOMSTATS: Case[] = [
  "",
  "--state",
  "--cpu-total",
  "--balloon",
  "--vcpu",
  "--interface",
  "--block",
  "--perf",
  "--iothread",
  "--memory",
  "--dirtyrate",
  "--vm",
  "--raw",
  "--enforce",
  "--backing",
  "--nowait",
  "--state --raw",
  "--block --backing",
  "--list-active",
  "--list-inactive",
  "--list-persistent",
  "--list-transient",
  "--list-running",
  "--list-paused",
  "--list-shutoff",
  "--list-other",
  "--state --enforce",
  "--perf --enforce",
  "--vm --enforce",
  "--dirtyrate --enforce",
  "--memory --enforce",
  "--iothread --enforce",
  "test",
  "test --state",
  "nosuch",
  "test test",
  "--state test --cpu-total",
  "--list-active test",
  "--state --list-shutoff",
].flatMap((o) => [t(`domstats ${o}`), t(`destroy test; domstats ${o}`)]);

/** freepages: the counts libvirt's test driver fills in (it returns 0 counts yet virsh prints them). */
const FREEPAGES: Case[] = [
  "--all",
  "--all --pagesize 2M",
  "--pagesize 4K --cellno 0",
  "--cellno 0 --pagesize 2M",
  "--cellno 5 --pagesize 4K",
  "--cellno -1 --pagesize 4K",
  "--cellno -2 --pagesize 4K",
  "--all --cellno 0",
  "--all --pagesize 0",
  "--cellno 0 --pagesize 1",
  "--cellno 0 --pagesize 1G",
  "--cellno 0 --pagesize 3",
  "",
  "--cellno 0",
  "--pagesize 4K",
].map((o) => t(`freepages ${o}`));

/** perf: events kept per definition and validated as libvirt's test driver does. */
const PERF: Case[] = [
  t(
    "perf test --enable cmt,cpu_cycles; perf test; perf test --disable cmt --config; perf test --config; perf test --enable cmt,cmt",
  ),
  t("perf test --enable cpu_cycles,cmt; dumpxml test"),
  t("perf test --enable cpu_cycles --disable cmt; dumpxml test --inactive; perf test --live"),
  t("perf test x"),
  t("perf test --enable ,,"),
  t("perf test --enable cmt --disable cmt"),
  t("perf test --enable cmt --live --config; perf test"),
  t("perf nosuch --enable x"),
  t("destroy test; perf test --enable cmt --live"),
  t("destroy test; perf test --enable cmt; perf test; dumpxml test"),
];

/** Domains named by id, UUID (36 characters only) or blank-led id; names as given in messages;
 * net-name/pool-name UUID checks; net-edit/pool-edit with a driver refusing the inactive flag. */
const LOOKUPS: Case[] = [
  { args: ["-c", TEST, "managedsave-define", "1", "/dev/null"] },
  { args: ["-c", TEST, "managedsave-define", "6695eb01-f6a4-8304-79aa-97f2502e193f", "/dev/null"] },
  { args: ["-c", TEST, "managedsave-define", " 1", "/dev/null"] },
  { args: ["-c", TEST, "managedsave-define", "-0", "/dev/null"] },
  { args: ["-c", TEST, "managedsave-define", "\t1", "/dev/null"] },
  { args: ["-c", TEST, "managedsave-define", "1 ", "/dev/null"] },
  { args: ["-c", TEST, "dompmsuspend", "1", "mem"] },
  { args: ["-c", TEST, "dompmsuspend", "6695eb01-f6a4-8304-79aa-97f2502e193f", "mem"] },
  { args: ["-c", TEST, "dompmsuspend", " 1", "mem"] },
  { args: ["-c", TEST, "dompmsuspend", "-0", "mem"] },
  { args: ["-c", TEST, "dompmsuspend", "\t1", "mem"] },
  { args: ["-c", TEST, "dompmsuspend", "1 ", "mem"] },
  { args: ["-c", TEST, "dompmwakeup", "1"] },
  { args: ["-c", TEST, "dompmwakeup", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "dompmwakeup", " 1"] },
  { args: ["-c", TEST, "dompmwakeup", "-0"] },
  { args: ["-c", TEST, "dompmwakeup", "\t1"] },
  { args: ["-c", TEST, "dompmwakeup", "1 "] },
  { args: ["-c", TEST, "cpu-stats", "1"] },
  { args: ["-c", TEST, "cpu-stats", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "cpu-stats", " 1"] },
  { args: ["-c", TEST, "cpu-stats", "-0"] },
  { args: ["-c", TEST, "cpu-stats", "\t1"] },
  { args: ["-c", TEST, "cpu-stats", "1 "] },
  { args: ["-c", TEST, "cpu-stats", "1", "--start", "5"] },
  { args: ["-c", TEST, "cpu-stats", "6695eb01-f6a4-8304-79aa-97f2502e193f", "--start", "5"] },
  { args: ["-c", TEST, "cpu-stats", " 1", "--start", "5"] },
  { args: ["-c", TEST, "cpu-stats", "-0", "--start", "5"] },
  { args: ["-c", TEST, "cpu-stats", "\t1", "--start", "5"] },
  { args: ["-c", TEST, "cpu-stats", "1 ", "--start", "5"] },
  { args: ["-c", TEST, "set-user-password", "1", "root", "pw"] },
  { args: ["-c", TEST, "set-user-password", "6695eb01-f6a4-8304-79aa-97f2502e193f", "root", "pw"] },
  { args: ["-c", TEST, "set-user-password", " 1", "root", "pw"] },
  { args: ["-c", TEST, "set-user-password", "-0", "root", "pw"] },
  { args: ["-c", TEST, "set-user-password", "\t1", "root", "pw"] },
  { args: ["-c", TEST, "set-user-password", "1 ", "root", "pw"] },
  { args: ["-c", TEST, "shutdown", "1"] },
  { args: ["-c", TEST, "shutdown", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "shutdown", " 1"] },
  { args: ["-c", TEST, "shutdown", "-0"] },
  { args: ["-c", TEST, "shutdown", "\t1"] },
  { args: ["-c", TEST, "shutdown", "1 "] },
  { args: ["-c", TEST, "reboot", "1"] },
  { args: ["-c", TEST, "reboot", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "reboot", " 1"] },
  { args: ["-c", TEST, "reboot", "-0"] },
  { args: ["-c", TEST, "reboot", "\t1"] },
  { args: ["-c", TEST, "reboot", "1 "] },
  { args: ["-c", TEST, "reset", "1"] },
  { args: ["-c", TEST, "reset", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "reset", " 1"] },
  { args: ["-c", TEST, "reset", "-0"] },
  { args: ["-c", TEST, "reset", "\t1"] },
  { args: ["-c", TEST, "reset", "1 "] },
  { args: ["-c", TEST, "destroy", "1"] },
  { args: ["-c", TEST, "destroy", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "destroy", " 1"] },
  { args: ["-c", TEST, "destroy", "-0"] },
  { args: ["-c", TEST, "destroy", "\t1"] },
  { args: ["-c", TEST, "destroy", "1 "] },
  { args: ["-c", TEST, "suspend", "1"] },
  { args: ["-c", TEST, "suspend", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "suspend", " 1"] },
  { args: ["-c", TEST, "suspend", "-0"] },
  { args: ["-c", TEST, "suspend", "\t1"] },
  { args: ["-c", TEST, "suspend", "1 "] },
  { args: ["-c", TEST, "resume", "1"] },
  { args: ["-c", TEST, "resume", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "resume", " 1"] },
  { args: ["-c", TEST, "resume", "-0"] },
  { args: ["-c", TEST, "resume", "\t1"] },
  { args: ["-c", TEST, "resume", "1 "] },
  { args: ["-c", TEST, "undefine", "1"] },
  { args: ["-c", TEST, "undefine", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "undefine", " 1"] },
  { args: ["-c", TEST, "undefine", "-0"] },
  { args: ["-c", TEST, "undefine", "\t1"] },
  { args: ["-c", TEST, "undefine", "1 "] },
  { args: ["-c", TEST, "autostart", "1"] },
  { args: ["-c", TEST, "autostart", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "autostart", " 1"] },
  { args: ["-c", TEST, "autostart", "-0"] },
  { args: ["-c", TEST, "autostart", "\t1"] },
  { args: ["-c", TEST, "autostart", "1 "] },
  { args: ["-c", TEST, "autostart", "1", "--disable"] },
  { args: ["-c", TEST, "autostart", "6695eb01-f6a4-8304-79aa-97f2502e193f", "--disable"] },
  { args: ["-c", TEST, "autostart", " 1", "--disable"] },
  { args: ["-c", TEST, "autostart", "-0", "--disable"] },
  { args: ["-c", TEST, "autostart", "\t1", "--disable"] },
  { args: ["-c", TEST, "autostart", "1 ", "--disable"] },
  { args: ["-c", TEST, "desc", "1"] },
  { args: ["-c", TEST, "desc", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "desc", " 1"] },
  { args: ["-c", TEST, "desc", "-0"] },
  { args: ["-c", TEST, "desc", "\t1"] },
  { args: ["-c", TEST, "desc", "1 "] },
  { args: ["-c", TEST, "desc", "1", "--title"] },
  { args: ["-c", TEST, "desc", "6695eb01-f6a4-8304-79aa-97f2502e193f", "--title"] },
  { args: ["-c", TEST, "desc", " 1", "--title"] },
  { args: ["-c", TEST, "desc", "-0", "--title"] },
  { args: ["-c", TEST, "desc", "\t1", "--title"] },
  { args: ["-c", TEST, "desc", "1 ", "--title"] },
  { args: ["-c", TEST, "managedsave-remove", "1"] },
  { args: ["-c", TEST, "managedsave-remove", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "managedsave-remove", " 1"] },
  { args: ["-c", TEST, "managedsave-remove", "-0"] },
  { args: ["-c", TEST, "managedsave-remove", "\t1"] },
  { args: ["-c", TEST, "managedsave-remove", "1 "] },
  { args: ["-c", TEST, "domblkstat", "1"] },
  { args: ["-c", TEST, "domblkstat", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domblkstat", " 1"] },
  { args: ["-c", TEST, "domblkstat", "-0"] },
  { args: ["-c", TEST, "domblkstat", "\t1"] },
  { args: ["-c", TEST, "domblkstat", "1 "] },
  { args: ["-c", TEST, "domifstat", "1", "eth0"] },
  { args: ["-c", TEST, "domifstat", "6695eb01-f6a4-8304-79aa-97f2502e193f", "eth0"] },
  { args: ["-c", TEST, "domifstat", " 1", "eth0"] },
  { args: ["-c", TEST, "domifstat", "-0", "eth0"] },
  { args: ["-c", TEST, "domifstat", "\t1", "eth0"] },
  { args: ["-c", TEST, "domifstat", "1 ", "eth0"] },
  { args: ["-c", TEST, "domifstat", "1", "nosuch"] },
  { args: ["-c", TEST, "domifstat", "6695eb01-f6a4-8304-79aa-97f2502e193f", "nosuch"] },
  { args: ["-c", TEST, "domifstat", " 1", "nosuch"] },
  { args: ["-c", TEST, "domifstat", "-0", "nosuch"] },
  { args: ["-c", TEST, "domifstat", "\t1", "nosuch"] },
  { args: ["-c", TEST, "domifstat", "1 ", "nosuch"] },
  { args: ["-c", TEST, "snapshot-current", "1"] },
  { args: ["-c", TEST, "snapshot-current", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "snapshot-current", " 1"] },
  { args: ["-c", TEST, "snapshot-current", "-0"] },
  { args: ["-c", TEST, "snapshot-current", "\t1"] },
  { args: ["-c", TEST, "snapshot-current", "1 "] },
  { args: ["-c", TEST, "domname", "1"] },
  { args: ["-c", TEST, "domname", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domname", " 1"] },
  { args: ["-c", TEST, "domname", "-0"] },
  { args: ["-c", TEST, "domname", "\t1"] },
  { args: ["-c", TEST, "domname", "1 "] },
  { args: ["-c", TEST, "suspend", "1;", "resume", "1"] },
  {
    args: [
      "suspend",
      "6695eb01-f6a4-8304-79aa-97f2502e193f;",
      "resume",
      "6695eb01-f6a4-8304-79aa-97f2502e193f",
    ],
  },
  { args: ["-c", TEST, "suspend", " 1;", "resume", " 1"] },
  { args: ["-c", TEST, "suspend", "-0;", "resume", "-0"] },
  { args: ["-c", TEST, "suspend", "\t1;", "resume", "\t1"] },
  { args: ["-c", TEST, "suspend", "1 ;", "resume", "1 "] },
  { args: ["-c", TEST, "destroy", "1;", "start", "1"] },
  {
    args: [
      "destroy",
      "6695eb01-f6a4-8304-79aa-97f2502e193f;",
      "start",
      "6695eb01-f6a4-8304-79aa-97f2502e193f",
    ],
  },
  { args: ["-c", TEST, "destroy", " 1;", "start", " 1"] },
  { args: ["-c", TEST, "destroy", "-0;", "start", "-0"] },
  { args: ["-c", TEST, "destroy", "\t1;", "start", "\t1"] },
  { args: ["-c", TEST, "destroy", "1 ;", "start", "1 "] },
  { args: ["-c", TEST, "managedsave-define", "1", "/nonexistent"] },
  { args: ["-c", TEST, "managedsave-define", "6695eb01-f6a4-8304-79aa-97f2502e193f", "/nonexistent"] },
  { args: ["-c", TEST, "managedsave-define", " 1", "/nonexistent"] },
  { args: ["-c", TEST, "managedsave-define", "-0", "/nonexistent"] },
  { args: ["-c", TEST, "managedsave-define", "\t1", "/nonexistent"] },
  { args: ["-c", TEST, "managedsave-define", "1 ", "/nonexistent"] },
  { args: ["-c", TEST, "domdisplay", "1"] },
  { args: ["-c", TEST, "domdisplay", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domdisplay", " 1"] },
  { args: ["-c", TEST, "domdisplay", "-0"] },
  { args: ["-c", TEST, "domdisplay", "\t1"] },
  { args: ["-c", TEST, "domdisplay", "1 "] },
  { args: ["-c", TEST, "vncdisplay", "1"] },
  { args: ["-c", TEST, "vncdisplay", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "vncdisplay", " 1"] },
  { args: ["-c", TEST, "vncdisplay", "-0"] },
  { args: ["-c", TEST, "vncdisplay", "\t1"] },
  { args: ["-c", TEST, "vncdisplay", "1 "] },
  { args: ["-c", TEST, "ttyconsole", "1"] },
  { args: ["-c", TEST, "ttyconsole", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "ttyconsole", " 1"] },
  { args: ["-c", TEST, "ttyconsole", "-0"] },
  { args: ["-c", TEST, "ttyconsole", "\t1"] },
  { args: ["-c", TEST, "ttyconsole", "1 "] },
  { args: ["-c", TEST, "domhostname", "1"] },
  { args: ["-c", TEST, "domhostname", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domhostname", " 1"] },
  { args: ["-c", TEST, "domhostname", "-0"] },
  { args: ["-c", TEST, "domhostname", "\t1"] },
  { args: ["-c", TEST, "domhostname", "1 "] },
  { args: ["-c", TEST, "domtime", "1"] },
  { args: ["-c", TEST, "domtime", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domtime", " 1"] },
  { args: ["-c", TEST, "domtime", "-0"] },
  { args: ["-c", TEST, "domtime", "\t1"] },
  { args: ["-c", TEST, "domtime", "1 "] },
  { args: ["-c", TEST, "domjobinfo", "1"] },
  { args: ["-c", TEST, "domjobinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domjobinfo", " 1"] },
  { args: ["-c", TEST, "domjobinfo", "-0"] },
  { args: ["-c", TEST, "domjobinfo", "\t1"] },
  { args: ["-c", TEST, "domjobinfo", "1 "] },
  { args: ["-c", TEST, "domjobabort", "1"] },
  { args: ["-c", TEST, "domjobabort", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domjobabort", " 1"] },
  { args: ["-c", TEST, "domjobabort", "-0"] },
  { args: ["-c", TEST, "domjobabort", "\t1"] },
  { args: ["-c", TEST, "domjobabort", "1 "] },
  { args: ["-c", TEST, "inject-nmi", "1"] },
  { args: ["-c", TEST, "inject-nmi", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "inject-nmi", " 1"] },
  { args: ["-c", TEST, "inject-nmi", "-0"] },
  { args: ["-c", TEST, "inject-nmi", "\t1"] },
  { args: ["-c", TEST, "inject-nmi", "1 "] },
  { args: ["-c", TEST, "send-key", "1", "KEY_A"] },
  { args: ["-c", TEST, "send-key", "6695eb01-f6a4-8304-79aa-97f2502e193f", "KEY_A"] },
  { args: ["-c", TEST, "send-key", " 1", "KEY_A"] },
  { args: ["-c", TEST, "send-key", "-0", "KEY_A"] },
  { args: ["-c", TEST, "send-key", "\t1", "KEY_A"] },
  { args: ["-c", TEST, "send-key", "1 ", "KEY_A"] },
  { args: ["-c", TEST, "setmem", "1", "1G"] },
  { args: ["-c", TEST, "setmem", "6695eb01-f6a4-8304-79aa-97f2502e193f", "1G"] },
  { args: ["-c", TEST, "setmem", " 1", "1G"] },
  { args: ["-c", TEST, "setmem", "-0", "1G"] },
  { args: ["-c", TEST, "setmem", "\t1", "1G"] },
  { args: ["-c", TEST, "setmem", "1 ", "1G"] },
  { args: ["-c", TEST, "setmaxmem", "1", "1G"] },
  { args: ["-c", TEST, "setmaxmem", "6695eb01-f6a4-8304-79aa-97f2502e193f", "1G"] },
  { args: ["-c", TEST, "setmaxmem", " 1", "1G"] },
  { args: ["-c", TEST, "setmaxmem", "-0", "1G"] },
  { args: ["-c", TEST, "setmaxmem", "\t1", "1G"] },
  { args: ["-c", TEST, "setmaxmem", "1 ", "1G"] },
  { args: ["-c", TEST, "setvcpus", "1", "1"] },
  { args: ["-c", TEST, "setvcpus", "6695eb01-f6a4-8304-79aa-97f2502e193f", "1"] },
  { args: ["-c", TEST, "setvcpus", " 1", "1"] },
  { args: ["-c", TEST, "setvcpus", "-0", "1"] },
  { args: ["-c", TEST, "setvcpus", "\t1", "1"] },
  { args: ["-c", TEST, "setvcpus", "1 ", "1"] },
  { args: ["-c", TEST, "domrename", "1", "newname"] },
  { args: ["-c", TEST, "domrename", "6695eb01-f6a4-8304-79aa-97f2502e193f", "newname"] },
  { args: ["-c", TEST, "domrename", " 1", "newname"] },
  { args: ["-c", TEST, "domrename", "-0", "newname"] },
  { args: ["-c", TEST, "domrename", "\t1", "newname"] },
  { args: ["-c", TEST, "domrename", "1 ", "newname"] },
  { args: ["-c", TEST, "destroy", "1;", "domrename", "1", "newname"] },
  {
    args: [
      "destroy",
      "6695eb01-f6a4-8304-79aa-97f2502e193f;",
      "domrename",
      "6695eb01-f6a4-8304-79aa-97f2502e193f",
      "newname",
    ],
  },
  { args: ["-c", TEST, "destroy", " 1;", "domrename", " 1", "newname"] },
  { args: ["-c", TEST, "destroy", "-0;", "domrename", "-0", "newname"] },
  { args: ["-c", TEST, "destroy", "\t1;", "domrename", "\t1", "newname"] },
  { args: ["-c", TEST, "destroy", "1 ;", "domrename", "1 ", "newname"] },
  { args: ["-c", TEST, "snapshot-create-as", "1", "s1"] },
  { args: ["-c", TEST, "snapshot-create-as", "6695eb01-f6a4-8304-79aa-97f2502e193f", "s1"] },
  { args: ["-c", TEST, "snapshot-create-as", " 1", "s1"] },
  { args: ["-c", TEST, "snapshot-create-as", "-0", "s1"] },
  { args: ["-c", TEST, "snapshot-create-as", "\t1", "s1"] },
  { args: ["-c", TEST, "snapshot-create-as", "1 ", "s1"] },
  { args: ["-c", TEST, "snapshot-list", "1"] },
  { args: ["-c", TEST, "snapshot-list", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "snapshot-list", " 1"] },
  { args: ["-c", TEST, "snapshot-list", "-0"] },
  { args: ["-c", TEST, "snapshot-list", "\t1"] },
  { args: ["-c", TEST, "snapshot-list", "1 "] },
  { args: ["-c", TEST, "checkpoint-list", "1"] },
  { args: ["-c", TEST, "checkpoint-list", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "checkpoint-list", " 1"] },
  { args: ["-c", TEST, "checkpoint-list", "-0"] },
  { args: ["-c", TEST, "checkpoint-list", "\t1"] },
  { args: ["-c", TEST, "checkpoint-list", "1 "] },
  { args: ["-c", TEST, "metadata", "1", "http://x"] },
  { args: ["-c", TEST, "metadata", "6695eb01-f6a4-8304-79aa-97f2502e193f", "http://x"] },
  { args: ["-c", TEST, "metadata", " 1", "http://x"] },
  { args: ["-c", TEST, "metadata", "-0", "http://x"] },
  { args: ["-c", TEST, "metadata", "\t1", "http://x"] },
  { args: ["-c", TEST, "metadata", "1 ", "http://x"] },
  { args: ["-c", TEST, "blkiotune", "1"] },
  { args: ["-c", TEST, "blkiotune", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "blkiotune", " 1"] },
  { args: ["-c", TEST, "blkiotune", "-0"] },
  { args: ["-c", TEST, "blkiotune", "\t1"] },
  { args: ["-c", TEST, "blkiotune", "1 "] },
  { args: ["-c", TEST, "memtune", "1"] },
  { args: ["-c", TEST, "memtune", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "memtune", " 1"] },
  { args: ["-c", TEST, "memtune", "-0"] },
  { args: ["-c", TEST, "memtune", "\t1"] },
  { args: ["-c", TEST, "memtune", "1 "] },
  { args: ["-c", TEST, "numatune", "1"] },
  { args: ["-c", TEST, "numatune", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "numatune", " 1"] },
  { args: ["-c", TEST, "numatune", "-0"] },
  { args: ["-c", TEST, "numatune", "\t1"] },
  { args: ["-c", TEST, "numatune", "1 "] },
  { args: ["-c", TEST, "schedinfo", "1"] },
  { args: ["-c", TEST, "schedinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "schedinfo", " 1"] },
  { args: ["-c", TEST, "schedinfo", "-0"] },
  { args: ["-c", TEST, "schedinfo", "\t1"] },
  { args: ["-c", TEST, "schedinfo", "1 "] },
  { args: ["-c", TEST, "domiflist", "1"] },
  { args: ["-c", TEST, "domiflist", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domiflist", " 1"] },
  { args: ["-c", TEST, "domiflist", "-0"] },
  { args: ["-c", TEST, "domiflist", "\t1"] },
  { args: ["-c", TEST, "domiflist", "1 "] },
  { args: ["-c", TEST, "domblklist", "1"] },
  { args: ["-c", TEST, "domblklist", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domblklist", " 1"] },
  { args: ["-c", TEST, "domblklist", "-0"] },
  { args: ["-c", TEST, "domblklist", "\t1"] },
  { args: ["-c", TEST, "domblklist", "1 "] },
  { args: ["-c", TEST, "domblkinfo", "1", "vda"] },
  { args: ["-c", TEST, "domblkinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f", "vda"] },
  { args: ["-c", TEST, "domblkinfo", " 1", "vda"] },
  { args: ["-c", TEST, "domblkinfo", "-0", "vda"] },
  { args: ["-c", TEST, "domblkinfo", "\t1", "vda"] },
  { args: ["-c", TEST, "domblkinfo", "1 ", "vda"] },
  { args: ["-c", TEST, "domblkerror", "1"] },
  { args: ["-c", TEST, "domblkerror", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domblkerror", " 1"] },
  { args: ["-c", TEST, "domblkerror", "-0"] },
  { args: ["-c", TEST, "domblkerror", "\t1"] },
  { args: ["-c", TEST, "domblkerror", "1 "] },
  { args: ["-c", TEST, "domcontrol", "1"] },
  { args: ["-c", TEST, "domcontrol", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domcontrol", " 1"] },
  { args: ["-c", TEST, "domcontrol", "-0"] },
  { args: ["-c", TEST, "domcontrol", "\t1"] },
  { args: ["-c", TEST, "domcontrol", "1 "] },
  { args: ["-c", TEST, "iothreadinfo", "1"] },
  { args: ["-c", TEST, "iothreadinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "iothreadinfo", " 1"] },
  { args: ["-c", TEST, "iothreadinfo", "-0"] },
  { args: ["-c", TEST, "iothreadinfo", "\t1"] },
  { args: ["-c", TEST, "iothreadinfo", "1 "] },
  { args: ["-c", TEST, "vcpuinfo", "1"] },
  { args: ["-c", TEST, "vcpuinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "vcpuinfo", " 1"] },
  { args: ["-c", TEST, "vcpuinfo", "-0"] },
  { args: ["-c", TEST, "vcpuinfo", "\t1"] },
  { args: ["-c", TEST, "vcpuinfo", "1 "] },
  { args: ["-c", TEST, "vcpucount", "1"] },
  { args: ["-c", TEST, "vcpucount", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "vcpucount", " 1"] },
  { args: ["-c", TEST, "vcpucount", "-0"] },
  { args: ["-c", TEST, "vcpucount", "\t1"] },
  { args: ["-c", TEST, "vcpucount", "1 "] },
  { args: ["-c", TEST, "vcpupin", "1"] },
  { args: ["-c", TEST, "vcpupin", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "vcpupin", " 1"] },
  { args: ["-c", TEST, "vcpupin", "-0"] },
  { args: ["-c", TEST, "vcpupin", "\t1"] },
  { args: ["-c", TEST, "vcpupin", "1 "] },
  { args: ["-c", TEST, "emulatorpin", "1"] },
  { args: ["-c", TEST, "emulatorpin", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "emulatorpin", " 1"] },
  { args: ["-c", TEST, "emulatorpin", "-0"] },
  { args: ["-c", TEST, "emulatorpin", "\t1"] },
  { args: ["-c", TEST, "emulatorpin", "1 "] },
  { args: ["-c", TEST, "guestvcpus", "1"] },
  { args: ["-c", TEST, "guestvcpus", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "guestvcpus", " 1"] },
  { args: ["-c", TEST, "guestvcpus", "-0"] },
  { args: ["-c", TEST, "guestvcpus", "\t1"] },
  { args: ["-c", TEST, "guestvcpus", "1 "] },
  { args: ["-c", TEST, "domfsinfo", "1"] },
  { args: ["-c", TEST, "domfsinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domfsinfo", " 1"] },
  { args: ["-c", TEST, "domfsinfo", "-0"] },
  { args: ["-c", TEST, "domfsinfo", "\t1"] },
  { args: ["-c", TEST, "domfsinfo", "1 "] },
  { args: ["-c", TEST, "domstats", "1"] },
  { args: ["-c", TEST, "domstats", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domstats", " 1"] },
  { args: ["-c", TEST, "domstats", "-0"] },
  { args: ["-c", TEST, "domstats", "\t1"] },
  { args: ["-c", TEST, "domstats", "1 "] },
  { args: ["-c", TEST, "domstate", "1"] },
  { args: ["-c", TEST, "domstate", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domstate", " 1"] },
  { args: ["-c", TEST, "domstate", "-0"] },
  { args: ["-c", TEST, "domstate", "\t1"] },
  { args: ["-c", TEST, "domstate", "1 "] },
  { args: ["-c", TEST, "dominfo", "1"] },
  { args: ["-c", TEST, "dominfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "dominfo", " 1"] },
  { args: ["-c", TEST, "dominfo", "-0"] },
  { args: ["-c", TEST, "dominfo", "\t1"] },
  { args: ["-c", TEST, "dominfo", "1 "] },
  { args: ["-c", TEST, "domid", "1"] },
  { args: ["-c", TEST, "domid", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domid", " 1"] },
  { args: ["-c", TEST, "domid", "-0"] },
  { args: ["-c", TEST, "domid", "\t1"] },
  { args: ["-c", TEST, "domid", "1 "] },
  { args: ["-c", TEST, "domuuid", "1"] },
  { args: ["-c", TEST, "domuuid", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domuuid", " 1"] },
  { args: ["-c", TEST, "domuuid", "-0"] },
  { args: ["-c", TEST, "domuuid", "\t1"] },
  { args: ["-c", TEST, "domuuid", "1 "] },
  { args: ["-c", TEST, "dommemstat", "1"] },
  { args: ["-c", TEST, "dommemstat", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "dommemstat", " 1"] },
  { args: ["-c", TEST, "dommemstat", "-0"] },
  { args: ["-c", TEST, "dommemstat", "\t1"] },
  { args: ["-c", TEST, "dommemstat", "1 "] },
  { args: ["-c", TEST, "domifaddr", "1"] },
  { args: ["-c", TEST, "domifaddr", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "domifaddr", " 1"] },
  { args: ["-c", TEST, "domifaddr", "-0"] },
  { args: ["-c", TEST, "domifaddr", "\t1"] },
  { args: ["-c", TEST, "domifaddr", "1 "] },
  { args: ["-c", TEST, "get-user-sshkeys", "1", "root"] },
  { args: ["-c", TEST, "get-user-sshkeys", "6695eb01-f6a4-8304-79aa-97f2502e193f", "root"] },
  { args: ["-c", TEST, "get-user-sshkeys", " 1", "root"] },
  { args: ["-c", TEST, "get-user-sshkeys", "-0", "root"] },
  { args: ["-c", TEST, "get-user-sshkeys", "\t1", "root"] },
  { args: ["-c", TEST, "get-user-sshkeys", "1 ", "root"] },
  { args: ["-c", TEST, "guestinfo", "1"] },
  { args: ["-c", TEST, "guestinfo", "6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  { args: ["-c", TEST, "guestinfo", " 1"] },
  { args: ["-c", TEST, "guestinfo", "-0"] },
  { args: ["-c", TEST, "guestinfo", "\t1"] },
  { args: ["-c", TEST, "guestinfo", "1 "] },
  { args: ["-c", TEST, "destroy test; start 6695eb01-f6a4-8304-79aa-97f2502e193f"] },
  {
    args: [
      "-c",
      TEST,
      "destroy test; start 6695eb01-f6a4-8304-79aa-97f2502e193f --paused; resume 6695eb01-f6a4-8304-79aa-97f2502e193f",
    ],
  },
  { args: ["-c", TEST, "start 1"] },
  { args: ["-c", TEST, "start ' 1'"] },
  { args: ["-c", TEST, "net-name 6695eb01f6a4830479aa97f2502e193f"] },
  { args: ["-c", TEST, "pool-name 6695eb01f6a4830479aa97f2502e193f"] },
  { args: ["-c", TEST, "net-info 6695eb01f6a4830479aa97f2502e193f"] },
  { args: ["-c", TEST, "pool-info 6695eb01f6a4830479aa97f2502e193f"] },
  { args: ["-c", TEST, "net-info 6695eb01-f6a4-8304-79aa-97f2502e193X"] },
  { args: ["-c", TEST, "pool-info 6695eb01-f6a4-8304-79aa-97f2502e193X"] },
  { args: ["-c", TEST, "net-name 6695eb01-f6a4-8304-79aa-97f2502e193X"] },
  { args: ["-c", TEST, "-d0", "dominfo 6695eb01f6a4830479aa97f2502e193f"] },
  { args: ["-c", TEST, "-d0", "dominfo 6695eb01-f6a4-8304-79aa-97f2502e193X"] },
  { args: ["-c", TEST, "-d0", "dominfo -0"] },
  { args: ["-c", TEST, "-d0", "dominfo 0x1"] },
  { args: ["-c", TEST, "net-edit default"] },
  { args: ["-c", TEST, "net-dumpxml default --inactive"] },
  { args: ["-c", TEST, "pool-edit default-pool"] },
  { args: ["-c", TEST, "iface-edit eth1"] },
  { args: ["-c", TEST, "nwfilter-edit x"] },
  { args: ["-c", TEST, "edit test"] },
  { args: ["-c", TEST, "secret-edit x"] },
  { args: ["-c", TEST, "net-edit default"] },
  { args: ["-c", TEST, "pool-edit default-pool"] },
  { args: ["-c", TEST, "iface-edit eth1"] },
  { args: ["-c", TEST, "nwfilter-edit x"] },
  { args: ["-c", TEST, "edit test"] },
  { args: ["-c", TEST, "secret-edit x"] },
  { args: ["-c", TEST, "net-dumpxml default --inactive"] },
  { args: ["-c", TEST, "snapshot-edit test"] },
  { args: ["-c", TEST, "vol-edit"] },
  { args: ["-c", TEST, "managedsave-edit test"] },
  { args: ["-c", TEST, "checkpoint-edit test x"] },
  { args: ["-c", TEST, "save-image-edit /nonexistent"] },
  { args: ["-c", TEST, "nodedev-edit x"] },
  { args: ["-c", TEST, "net-port-edit x"] },
];

async function compare(cases: Case[]): Promise<string[]> {
  const diffs: string[] = [];
  for (const c of cases) {
    const want = runVirsh(c);
    const got = await runTsvirsh(c);
    if (JSON.stringify(got) !== JSON.stringify(want))
      diffs.push(`${JSON.stringify(c)}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
  }
  return diffs;
}

for (const [name, cases] of [
  ["when the connection opens, and failed connections", CONNECT],
  ["global options", GLOBAL],
  ["hidden commands, --help and help forms", COMMANDS],
  ["command strings, quoting, option errors, interactive shell", PARSING],
  ["schedinfo set forms", SCHEDINFO],
  ["domstats groups and filters", DOMSTATS],
  ["freepages", FREEPAGES],
  ["perf events", PERF],
  ["lookups by id and UUID, names as given, edit", LOOKUPS],
] as const) {
  test(`tsvirsh matches virsh 9.0: ${name}`, async (tt) => {
    if (!haveVirsh) return tt.skip("real virsh is not installed");
    const diffs = await compare(cases);
    tt.diagnostic(`identical ${cases.length - diffs.length}/${cases.length}`);
    assert.deepEqual(diffs, []);
  });
}

test("tsvirsh matches virsh 9.0: help of every command and group, and CMD --help", async (tt) => {
  if (!haveVirsh) return tt.skip("real virsh is not installed");
  const list = runVirsh({ args: ["help"] }).stdout;
  const names = [...list.matchAll(/^ {4}(\S+) +\S/gm)].map((m) => m[1]);
  const keywords = [...list.matchAll(/\(help keyword '([^']+)'\)/g)].map((m) => m[1]);
  assert.ok(names.length > 250, `virsh help listed ${names.length} commands`);
  const cases: Case[] = [
    ...names.map((n) => ({ args: ["help", n] })),
    ...names.map((n) => ({ args: [n, "--help"] })),
    ...keywords.map((k) => ({ args: ["help", k] })),
    { args: ["help", "complete"] },
    { args: ["help", "self-test"] },
    { args: ["help", "nodedev-dettach"] },
  ];
  const diffs = await compare(cases);
  tt.diagnostic(`identical ${cases.length - diffs.length}/${cases.length}`);
  assert.deepEqual(diffs, []);
});

test("tsvirsh matches virsh 9.0: which options take positional data, for every command (-d 0)", async (tt) => {
  if (!haveVirsh) return tt.skip("real virsh is not installed");
  // vshCommandParse's debug lines name the option each word fills; --zzzz then stops the line
  // before anything runs (VSH_OFLAG_REQ_OPT options are skipped, which help does not show)
  const list = runVirsh({ args: ["help"] }).stdout;
  const names = [...list.matchAll(/^ {4}(\S+) +\S/gm)].map((m) => m[1]);
  const words = Array.from({ length: 15 }, (_, i) => `p${i + 1}`).join(" ");
  const cases: Case[] = names.map((n) => ({ args: ["-d0", "-c", TEST, `${n} ${words} --zzzz`] }));
  const diffs = await compare(cases);
  tt.diagnostic(`identical ${cases.length - diffs.length}/${cases.length}`);
  assert.deepEqual(diffs, []);
});

test("tsvirsh matches virsh 9.0: list forms, long and non-ASCII names in C and UTF-8 locales, empty lists", async (tt) => {
  if (!haveVirsh) return tt.skip("real virsh is not installed");
  const dir = mkdtempSync(join(tmpdir(), "tsvirsh-list-"));
  try {
    for (const [name, xml] of Object.entries(LIST_XML)) writeFileSync(join(dir, `${name}.xml`), xml);
    const setup =
      ["long", "t2", "u", "e", "tt"].map((n) => `define ${join(dir, `${n}.xml`)}; `).join("") + "start t2; ";
    const cases: Case[] = [];
    for (const l of LISTS) {
      cases.push(t(setup + l), t(l), { args: ["-q", "-c", TEST, setup + l] });
      for (const env of [{ LC_ALL: "C.UTF-8" }, { LC_ALL: "", LANG: "C.UTF-8" }, { LC_ALL: "POSIX" }])
        cases.push({ args: ["-c", TEST, setup + l], env });
    }
    cases.push(t("destroy test; list"));
    cases.push(
      t(
        "destroy test; undefine test; list --all; list --all --title; list --all --name; list --all --uuid; list --table --all",
      ),
    );
    for (const l of OTHER_LISTS) cases.push(t(l), { args: ["-q", "-c", TEST, l] });
    const diffs = await compare(cases);
    tt.diagnostic(`identical ${cases.length - diffs.length}/${cases.length}`);
    assert.deepEqual(diffs, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tsvirsh matches virsh 9.0: attach/detach/update without flags name the flag-less libvirt call", async (tt) => {
  if (!haveVirsh) return tt.skip("real virsh is not installed");
  const dir = mkdtempSync(join(tmpdir(), "tsvirsh-dev-"));
  try {
    const disk = join(dir, "disk.xml");
    writeFileSync(
      disk,
      "<disk type='file' device='disk'><source file='/tmp/x.img'/><target dev='vdb' bus='virtio'/></disk>\n",
    );
    const lines = [
      "detach-disk test vda",
      "detach-disk test vda --config",
      "detach-disk test vda --current",
      "detach-disk test vda --live",
      "detach-disk test vda --persistent",
      "detach-interface test network",
      "detach-interface test user",
      "attach-disk test /tmp/x vdb",
      "attach-disk test /tmp/x vdb --config",
      "attach-interface test network default",
      "destroy test; detach-disk test vda",
      "destroy test; attach-disk test /tmp/x vdb",
    ];
    for (const cmd of ["attach-device", "detach-device", "update-device"])
      for (const extra of ["", " --config", " --current", " --live", " --persistent"])
        lines.push(`${cmd} test ${disk}${extra}`);
    const cases = lines.flatMap((l): Case[] => [t(l), { args: ["-r", "-c", TEST, l] }]);
    const diffs = await compare(cases);
    tt.diagnostic(`identical ${cases.length - diffs.length}/${cases.length}`);
    assert.deepEqual(diffs, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tsvirsh program: the test driver's node-file warnings reach stderr as libxml2's do", (tt) => {
  if (!haveVirsh) return tt.skip("real virsh is not installed");
  const bin = `${root}src/bin/tsvirsh.ts`;
  if (!existsSync(bin)) return tt.skip("src/bin/tsvirsh.ts is missing");
  for (const c of [
    { args: ["-c", "test:///nonexistent-node.xml", "uri"] },
    { args: ["-c", "test:///tmp", "uri"] },
    { args: ["connect test:///nonexistent-node.xml; uri"], env: nd },
  ]) {
    const want = runVirsh(c);
    const r = spawnSync(process.execPath, ["--import", "tsx", bin, ...c.args], {
      cwd: root,
      env: baseEnv(c) as NodeJS.ProcessEnv,
      encoding: "utf8",
      timeout: 30000,
    });
    assert.deepEqual({ stdout: r.stdout, stderr: r.stderr, status: r.status }, want, c.args.join(" "));
  }
});
