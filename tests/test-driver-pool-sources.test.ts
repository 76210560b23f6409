// virConnectFindStoragePoolSources on test:///default compared with python-libvirt 9.0 in-process:
// the sources XML for logical/netfs and libvirt's exact errors for the other pool types.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { connect } from "../src/index.js";

const PY = "/usr/bin/python3";
const CASES: [string, string | null][] = [
  ["logical", null],
  ["logical", "<source><host name='x'/></source>"],
  ["netfs", "<source><host name='h.example'/></source>"],
  ["netfs", null],
  ["dir", null],
  ["iscsi", null],
  ["bogus", null],
  // a spec, even "", is parsed as the pool type's <source> before anything else is looked at
  ["logical", ""],
  ["logical", "junk"],
  ["logical", "<foo/>"],
  ["logical", "<source><host/></source>"],
  ["fs", "<source><format type='zzz'/></source>"],
  ["iscsi", "<source><format type='zzz'/></source>"],
  ["iscsi", "<source><host/></source>"],
  ["bogus", "<source/>"],
  ["bogus", "<foo/>"],
  ["netfs", ""],
  ["dir", "junk"],
];

const SCRIPT = `
import json, sys, libvirt as L
L.registerErrorHandler(lambda *a: None, None)
c = L.open("test:///default")
out = []
for t, spec in json.loads(sys.argv[1]):
    try: out.append(c.findStoragePoolSources(t, spec, 0))
    except L.libvirtError as e: out.append([e.get_error_code(), e.get_error_domain(), e.get_error_message()])
print(json.dumps(out))
`;

function oracle(): unknown[] | string {
  try {
    return JSON.parse(execFileSync(PY, ["-c", SCRIPT, JSON.stringify(CASES)], { encoding: "utf8" }));
  } catch (e) {
    return `python-libvirt unavailable: ${(e as Error).message.split("\n")[0]}`;
  }
}

test("findStoragePoolSources answers as libvirt 9.0's test driver", async (t) => {
  const theirs = oracle();
  if (typeof theirs === "string") return t.skip(theirs);
  const c = await connect("test:///default");
  try {
    const ours: unknown[] = [];
    for (const [type, spec] of CASES) {
      try {
        ours.push(await c.findStoragePoolSources(type, spec, 0));
      } catch (e) {
        const v = e as { code: number; domain: number; message: string };
        ours.push([v.code, v.domain, v.message]);
      }
    }
    assert.deepEqual(ours, theirs);
  } finally {
    await c.close();
  }
});
