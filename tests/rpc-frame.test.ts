// Framing and message tests: length-prefixed frames reassembled from every split of the byte
// stream, hostile length words refused, and the procedure table's codecs round-trip.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isVirError } from "../src/errors/index.js";
import {
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  VIR_NET_MESSAGE_MAX,
} from "../src/rpc/protocol/constants.js";
import { decodeFrame, encodeFrame, FrameDecoder } from "../src/rpc/protocol/frame.js";
import { procedureByName, remoteProcedures } from "../src/rpc/protocol/program.js";
import { remoteError } from "../src/rpc/protocol/remote-error.js";
import { decode, encode } from "../src/rpc/xdr/index.js";

const hdr = (proc: number, serial: number) => ({
  prog: REMOTE_PROGRAM,
  vers: 1,
  proc,
  type: MessageType.CALL,
  serial,
  status: MessageStatus.OK,
});

test("frame layout: length counts itself, then the 24-byte header", () => {
  const p = procedureByName("DOMAIN_LOOKUP_BY_NAME");
  const f = encodeFrame(hdr(p.num, 7), (w) => p.args.encode(w, { name: "test" }));
  assert.equal(f.readUInt32BE(0), f.length);
  assert.equal(
    f.subarray(4, 28).toString("hex"),
    "20008086" + "00000001" + "00000017" + "00000000" + "00000007" + "00000000",
  );
  const d = decodeFrame(f);
  assert.equal(d.header.proc, 23);
  assert.deepEqual(decode(p.args, d.body), { name: "test" });
});

test("FrameDecoder reassembles three frames from every split point", () => {
  const frames = [
    encodeFrame(hdr(66, 0)),
    encodeFrame(hdr(1, 1), (w) =>
      procedureByName("CONNECT_OPEN").args.encode(w, { name: "test:///default", flags: 0 }),
    ),
    encodeFrame(hdr(59, 2)),
  ];
  const all = Buffer.concat(frames);
  for (let i = 0; i <= all.length; i++) {
    for (const j of [i, Math.min(all.length, i + 1), Math.min(all.length, i + 13)]) {
      const d = new FrameDecoder();
      const got = [...d.push(all.subarray(0, i)), ...d.push(all.subarray(i, j)), ...d.push(all.subarray(j))];
      assert.deepEqual(got, frames, `split at ${i}/${j}`);
      assert.equal(d.pending, 0);
    }
  }
  // one byte at a time
  const d = new FrameDecoder();
  const got: Buffer[] = [];
  for (const b of all) got.push(...d.push(Buffer.from([b])));
  assert.deepEqual(got, frames);
});

test("hostile length words are refused before buffering", () => {
  for (const len of [0, 3, 4, 27, VIR_NET_MESSAGE_MAX + 5, 0x7fffffff, 0xffffffff]) {
    const d = new FrameDecoder();
    const b = Buffer.alloc(4);
    b.writeUInt32BE(len >>> 0);
    assert.throws(
      () => d.push(b),
      (e: unknown) => isVirError(e),
      `length ${len}`,
    );
  }
  // the largest legal frame is accepted as a length (and waits for its bytes)
  const d = new FrameDecoder();
  const b = Buffer.alloc(4);
  b.writeUInt32BE(VIR_NET_MESSAGE_MAX + 4);
  assert.deepEqual(d.push(b), []);
});

test("bounded fuzz: random streams only ever throw VirError", () => {
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 2000; i++) {
    const d = new FrameDecoder();
    const len = rnd() % 80;
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
    if (len >= 4 && i % 2 === 0) b.writeUInt32BE(28 + (rnd() % 40), 0);
    try {
      for (const f of d.push(b)) {
        const fr = decodeFrame(f);
        const p = remoteProcedures.get(fr.header.proc);
        if (p) decode(p.args, fr.body);
      }
    } catch (e) {
      assert.ok(isVirError(e), `unexpected ${String(e)}`);
    }
  }
});

test("procedure table: numbers unique, codecs encode/decode zero-ish values", () => {
  assert.ok(remoteProcedures.size > 200);
  assert.equal(procedureByName("CONNECT_LIST_ALL_DOMAINS").num, 273);
  assert.equal(procedureByName("DOMAIN_GET_XML_DESC").slot, "domainGetXMLDesc");
  assert.equal(procedureByName("DOMAIN_LOOKUP_BY_UUID").slot, "domainLookupByUUID");
  assert.equal(procedureByName("DOMAIN_GET_OS_TYPE").slot, "domainGetOSType");
  assert.equal(procedureByName("DOMAIN_PM_SUSPEND_FOR_DURATION").slot, "domainPMSuspendForDuration");
  assert.equal(procedureByName("NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN").slot, "nodeDeviceLookupSCSIHostByWWN");
  assert.equal(procedureByName("DOMAIN_GET_IOTHREAD_INFO").slot, "domainGetIOThreadInfo");
  assert.equal(procedureByName("DOMAIN_DESTROY").readonly, false);
  assert.equal(procedureByName("DOMAIN_GET_INFO").readonly, true);
  const err = {
    code: 42,
    domain: 10,
    message: "Domain not found: no domain with matching name 'x'",
    level: 2,
    dom: null,
    str1: "x",
    str2: null,
    str3: null,
    int1: -1,
    int2: -1,
    net: null,
  };
  assert.deepEqual(decode(remoteError, encode(remoteError, err)), err);
});

test("event message table: one message per (family, event id), procedure numbers unique", async () => {
  const { eventMessages } = await import("../src/rpc/protocol/procs-events.js");
  const keys = new Set(eventMessages.map((m) => `${m.family}:${m.eventID}`));
  const procs = new Set(eventMessages.map((m) => m.proc));
  assert.equal(keys.size, eventMessages.length);
  assert.equal(procs.size, eventMessages.length);
  for (const m of eventMessages) assert.equal(remoteProcedures.has(m.proc), false, `${m.proc} is a message`);
  // a lifecycle message as virsh receives it (remote_domain_event_callback_lifecycle_msg)
  const life = eventMessages.find((m) => m.family === "domain" && m.eventID === 0)!;
  const dom = { name: "test", uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f", id: 1 };
  const bytes = encode(life.codec, life.build(3, { dom, event: 5, detail: 1 }));
  assert.equal(bytes.readInt32BE(0), 3);
  assert.deepEqual(decode(life.codec, bytes), { callbackID: 3, msg: { dom, event: 5, detail: 1 } });
});
