// The package entry as an SDK user meets it: connect() in-process to test:///default and through
// a running tsvirtd over test+unix://, with the same answers and libvirt's errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTsvirtd, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";
import { connect, ErrorCode, VirError } from "../src/index.js";

async function tour(uri: string) {
  const conn = await connect(uri);
  try {
    const names = (await conn.listAllDomains()).map((d) => d.name).sort();
    const dom = await conn.domainLookupByName("test");
    const state = await dom.getState();
    const err = await conn.domainLookupByName("nope").then(
      () => undefined,
      (e: unknown) => e,
    );
    return { names, state, err };
  } finally {
    await conn.close();
  }
}

test("connect() in-process answers as libvirt's test driver", async () => {
  const r = await tour("test:///default");
  assert.deepEqual(r.names, ["test"]);
  assert.deepEqual(r.state, { state: 1, reason: 0 }); // running, unknown reason: as libvirt 9.0 reports it
  assert.ok(r.err instanceof VirError);
  assert.equal(r.err.code, ErrorCode.NO_DOMAIN);
  assert.equal(r.err.message, "Domain not found"); // libvirt 9.0's test driver gives no detail here
});

test("connect() through tsvirtd gives the same answers", async (t) => {
  const why = tsvirtdUnavailable();
  if (why) return t.skip(why);
  const d = await startTsvirtd();
  try {
    const local = await tour("test:///default");
    const remote = await tour(`test+unix:///default?socket=${d.socketPath}`);
    assert.deepEqual(remote.names, local.names);
    assert.deepEqual(remote.state, local.state);
    assert.ok(remote.err instanceof VirError);
    assert.equal((remote.err as VirError).code, ErrorCode.NO_DOMAIN);
    assert.equal((remote.err as VirError).message, (local.err as VirError).message);
  } finally {
    await d.dispose();
  }
});
