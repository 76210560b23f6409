#!/usr/bin/env node
// tsvirsh composition root: virsh's CLI over the public API, with the connection drivers this
// binary knows about registered.
import process from "node:process";
import { type Connection, openConnection } from "../api/index.js";
import { virshGroups, virshMain } from "../cli/virsh/index.js";
import { registerTestDriver } from "../drivers/test/index.js";

registerTestDriver();

function defaultUri(): string {
  return process.getuid?.() === 0 ? "qemu:///system" : "qemu:///session";
}

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
