// The lifetime of a daemon's test:///default, with real virsh 9.0 as the client: one node shared
// by every client connected to it (changes made by one are seen by the others, read-only clients
// included), dropped when the last of them goes (virsh's CONNECT_CLOSE at quit, or a client killed
// without one), so the next client finds the pristine default node. The same script runs against
// tsvirtd and, where it can run here, a private libvirtd 9.0 (bench/peers/libvirtd.ts); the two
// transcripts must be identical, and each must show the facts above.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { test } from "node:test";
import { libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { startTsvirtd, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

const ENV = { ...process.env, LC_ALL: "C" };

const noVirsh = (() => {
  try {
    execFileSync("virsh", ["--version"], { stdio: "ignore" });
    return null;
  } catch {
    return "virsh not installed";
  }
})();

/** One virsh process, one connection, the given commands. */
function once(uri: string, cmds: string): Promise<string> {
  return new Promise((resolve) => {
    execFile("virsh", ["-c", uri, cmds], { env: ENV, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve(`${stdout}${stderr}[exit ${code}]\n`);
    });
  });
}

const PROMPT = "virsh # ";

/** An interactive virsh (stdin a pipe): connected from its start until it quits or is killed. */
class Holder {
  private out = "";
  private readonly p: ChildProcess;
  private readonly exited: Promise<void>;

  private constructor(uri: string) {
    this.p = spawn("virsh", ["-c", uri], { env: ENV, stdio: ["pipe", "pipe", "pipe"] });
    this.p.stdout!.on("data", (b: Buffer) => {
      this.out += b.toString();
    });
    this.p.stderr!.on("data", (b: Buffer) => {
      this.out += b.toString();
    });
    this.exited = new Promise((r) => this.p.once("exit", () => r()));
  }

  private prompts(): number {
    return this.out.split(PROMPT).length - 1;
  }

  private async waitPrompts(n: number): Promise<void> {
    for (let i = 0; i < 1000 && this.prompts() < n; i++) {
      if (this.p.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(this.prompts() >= n, `virsh prompt ${n} did not come:\n${this.out}`);
  }

  /** Starts virsh and waits for its first prompt (printed once it is connected). */
  static async open(uri: string): Promise<Holder> {
    const h = new Holder(uri);
    try {
      await h.waitPrompts(1);
    } catch (e) {
      h.p.kill("SIGKILL");
      throw e;
    }
    return h;
  }

  /** Runs one command; returns what virsh printed for it. */
  async run(cmd: string): Promise<string> {
    const n = this.prompts();
    const from = this.out.length;
    this.p.stdin!.write(`${cmd}\n`);
    await this.waitPrompts(n + 1);
    return this.out.slice(from, this.out.lastIndexOf(PROMPT));
  }

  /** `quit`: virsh closes its connection (CONNECT_CLOSE) and exits. */
  async quit(): Promise<void> {
    this.p.stdin!.end("quit\n");
    await this.exited;
  }

  /** SIGKILL: the connection drops without CONNECT_CLOSE. */
  async kill(): Promise<void> {
    this.p.kill("SIGKILL");
    await this.exited;
  }
}

const RUNNING = /^ 1 +test +running$/m;
const SHUT_OFF = /^ - +test +shut off$/m;

/**
 * The script. Returns the transcript; `held` collects the holders so that the caller can kill
 * any left running by a failure (they would keep the test process alive).
 */
async function script(rw: string, ro: string, held: Holder[]): Promise<string[]> {
  const log: string[] = [];
  const step = async (name: string, text: Promise<string>) => {
    const t = await text;
    log.push(`## ${name}\n${t}`);
    return t;
  };
  const hold = async (uri: string) => {
    const h = await Holder.open(uri);
    held.push(h);
    return h;
  };

  await step(
    "one client changes things",
    once(rw, "destroy test; undefine test; net-destroy default; pool-destroy default-pool"),
  );
  const fresh = await step("the next client", once(rw, "list --all; net-list --all; pool-list --all"));
  assert.match(fresh, RUNNING, "a client after the last one closed finds 'test' running again");
  assert.match(fresh, /^ default +active/m);
  assert.match(fresh, /^ default-pool +active/m);

  const a = await hold(rw);
  await step("A: destroy", a.run("destroy test"));
  const shared = await step("another client while A lives", once(rw, "list --all"));
  assert.match(shared, SHUT_OFF, "the state is shared while A is connected");
  await step("another client undefines", once(rw, "undefine test"));
  const seen = await step("A sees it", a.run("list --all"));
  assert.doesNotMatch(seen, /test/, "A sees the other client's undefine");

  const r = await hold(ro);
  await step(
    "A quits, a read-only client R lives",
    a.quit().then(() => ""),
  );
  const stillHeld = await step("a client while only R lives", once(rw, "list --all"));
  assert.doesNotMatch(stillHeld, /test/, "a read-only client keeps the node too");
  await step(
    "R quits",
    r.quit().then(() => ""),
  );
  assert.match(await step("the next client", once(rw, "list --all")), RUNNING);

  const k = await hold(rw);
  await step("K: destroy", k.run("destroy test"));
  assert.match(await step("another client while K lives", once(rw, "list --all")), SHUT_OFF);
  await step(
    "K is killed (no CONNECT_CLOSE)",
    k.kill().then(() => ""),
  );
  // the daemon learns of the dropped socket asynchronously: wait for it, up to 5 s
  let after = "";
  for (let i = 0; i < 50; i++) {
    after = await once(rw, "list --all");
    if (RUNNING.test(after)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  log.push(`## the next client after K was killed\n${after}`);
  assert.match(after, RUNNING, "a client killed without closing releases the node too");
  return log;
}

async function runScript(rw: string, ro: string): Promise<string[]> {
  const held: Holder[] = [];
  try {
    return await script(rw, ro, held);
  } finally {
    for (const h of held) await h.kill();
  }
}

const tsvirtdWhy = noVirsh ?? tsvirtdUnavailable();
const libvirtdWhy = tsvirtdWhy ?? libvirtdUnavailable();

test("tsvirtd: test:///default is shared while clients live, pristine after the last one", {
  skip: tsvirtdWhy ?? false,
  timeout: 120_000,
}, async () => {
  const d = await startTsvirtd({ args: ["--http", "off"] });
  try {
    await runScript(d.uri("test"), d.uri("test", true));
  } finally {
    await d.dispose();
  }
});

test("the same virsh script against libvirtd 9.0 and tsvirtd: identical transcripts", {
  skip: libvirtdWhy ?? false,
  timeout: 120_000,
}, async () => {
  const peer = await startLibvirtd();
  let theirs: string[];
  try {
    theirs = await runScript(peer.uri("test"), peer.uri("test", true));
  } finally {
    await peer.stop();
  }
  const d = await startTsvirtd({ args: ["--http", "off"] });
  try {
    const ours = await runScript(d.uri("test"), d.uri("test", true));
    assert.deepEqual(ours, theirs);
  } finally {
    await d.dispose();
  }
});
