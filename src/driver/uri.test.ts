// Unit tests for connection URI parsing and the driver registry.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, isVirError } from "../errors/index.js";
import { openDriverSet, registerConnectionDriver, unregisterConnectionDriver } from "./registry.js";
import { parseConnectUri, uriParam } from "./uri.js";

test("parseConnectUri splits driver, transport, authority, path and query", () => {
  const u = parseConnectUri("qemu+unix:///system?socket=/run/x/libvirt-sock&no_verify=1");
  assert.equal(u.driver, "qemu");
  assert.equal(u.transport, "unix");
  assert.equal(u.host, undefined);
  assert.equal(u.path, "/system");
  assert.equal(uriParam(u, "socket"), "/run/x/libvirt-sock");
  assert.equal(uriParam(u, "no_verify"), "1");
  const t = parseConnectUri("qemu+tls://alice@host.example:16514/system");
  assert.deepEqual(
    [t.transport, t.user, t.host, t.port, t.path],
    ["tls", "alice", "host.example", 16514, "/system"],
  );
  const v6 = parseConnectUri("qemu+tcp://[::1]:16509/session");
  assert.deepEqual([v6.host, v6.port], ["::1", 16509]);
  const d = parseConnectUri("test:///default");
  assert.deepEqual([d.driver, d.transport, d.host, d.path], ["test", undefined, undefined, "/default"]);
  assert.throws(
    () => parseConnectUri("no scheme here"),
    (e) => isVirError(e) && e.code === ErrorCode.INTERNAL_ERROR,
  );
});

test("openDriverSet picks the registered factory that accepts the URI", async () => {
  await assert.rejects(
    openDriverSet("nosuch:///x"),
    (e) =>
      isVirError(e) &&
      e.code === ErrorCode.NO_CONNECT &&
      e.message === "no connection driver available for nosuch:///x",
  );
  registerConnectionDriver({
    name: "fake",
    accepts: (u) => u.driver === "nosuch",
    open: async (u) => ({ uri: u.text, hypervisor: { name: "FAKE" } }),
  });
  try {
    const ds = await openDriverSet("nosuch:///x");
    assert.equal(ds.hypervisor.name, "FAKE");
  } finally {
    unregisterConnectionDriver("fake");
  }
});
