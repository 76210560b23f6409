#!/usr/bin/env node
// tsvirsh composition root: virsh's CLI over the public API. test:/// URIs are served in-process;
// everything else goes to a daemon through the remote driver (a local URI such as qemu:///system
// uses the daemon's unix socket, as libvirt's client library does).
import process from "node:process";
import { type Connection, openConnection } from "../api/index.js";
import { virshGroups, virshMain } from "../cli/virsh/index.js";
import { registerConnectionDriver } from "../driver/index.js";
import { remoteConnectionDriver } from "../drivers/remote/remote-driver.js";
import { registerTestDriver } from "../drivers/test/index.js";

registerConnectionDriver({
  name: "remote-local",
  accepts: (u) => u.transport === undefined && !u.host && u.driver !== "test",
  open: (u, opts) => remoteConnectionDriver.open({ ...u, transport: "unix" }, opts),
});
registerConnectionDriver(remoteConnectionDriver);
registerTestDriver();

function defaultUri(): string {
  return process.getuid?.() === 0 ? "qemu:///system" : "qemu:///session";
}

// The reader of our output went away (`tsvirsh list | head`): virsh is killed by SIGPIPE then,
// silently, and the shell sees 128 + 13. Node ignores SIGPIPE and reports EPIPE on the stream
// instead; end the same way, without a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(128 + 13);
});

const code = await virshMain<Connection>({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: Boolean(process.stdin.isTTY),
  groups: virshGroups(),
  open: (uri, readOnly) => openConnection(uri ?? defaultUri(), { readOnly }),
  close: (conn) => conn.close(),
});
process.exitCode = code;
