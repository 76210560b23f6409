// Secrets: libvirt's test driver has no secret support, so the goldens here are documents in the
// exact shape libvirt 9.0's virSecretDefFormat prints (checked against secret.rng); errors use
// the messages of secret_conf.c. Fixed points, defaults, error codes, bounded fuzz.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { formatSecretXML, parseSecretXML } from "../src/conf/secret/index.js";
import { ErrorCode, ErrorDomain } from "../src/errors/index.js";
import { xmllintBatch } from "./conf-corpus-helpers.js";
import { fuzzParser } from "./conf-fuzz-helpers.js";

const dir = join(import.meta.dirname, "data", "secret-xml2xml");
const docs = readdirSync(dir)
  .filter((f) => f.endsWith(".xml"))
  .sort()
  .map((f) => readFileSync(join(dir, f), "utf8"));
const run = (x: string) => formatSecretXML(parseSecretXML(x));

test("secret documents are fixed points and validate against secret.rng", (t) => {
  assert.ok(docs.length >= 6);
  for (const d of docs) assert.equal(run(d), d);
  const res = xmllintBatch("secret", docs.map(run));
  if (res === null) return t.skip("xmllint or schema missing");
  assert.equal(res, undefined, res ?? "");
});

test("secret defaults: ephemeral/private no, generated uuid, empty description dropped", () => {
  const d = parseSecretXML(
    "<secret><description></description><usage type='ceph'><name>x</name></usage></secret>",
  );
  assert.equal(d.ephemeral, false);
  assert.equal(d.private, false);
  assert.match(d.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(d.description, undefined);
  assert.equal(
    formatSecretXML({ ...d, uuid: "2ec115d7-3a88-3ceb-bc12-0ac909a6fd87" }),
    "<secret ephemeral='no' private='no'>\n  <uuid>2ec115d7-3a88-3ceb-bc12-0ac909a6fd87</uuid>\n  <usage type='ceph'>\n    <name>x</name>\n  </usage>\n</secret>\n",
  );
});

test("secret errors carry libvirt's codes and messages", () => {
  const cases: [string, number, string][] = [
    ["<secret ephemeral='maybe'/>", ErrorCode.XML_ERROR, "XML error: invalid value of 'ephemeral'"],
    ["<secret private='1'/>", ErrorCode.XML_ERROR, "XML error: invalid value of 'private'"],
    ["<secret><uuid>zz</uuid></secret>", ErrorCode.INTERNAL_ERROR, "internal error: malformed uuid element"],
    ["<secret><usage/></secret>", ErrorCode.XML_ERROR, "XML error: unknown secret usage type"],
    [
      "<secret><usage type='disk'/></secret>",
      ErrorCode.CONFIG_UNSUPPORTED,
      "unsupported configuration: unknown secret usage type disk",
    ],
    [
      "<secret><usage type='volume'/></secret>",
      ErrorCode.INTERNAL_ERROR,
      "internal error: volume usage specified, but volume path is missing",
    ],
    [
      "<secret><usage type='iscsi'><name>x</name></usage></secret>",
      ErrorCode.INTERNAL_ERROR,
      "internal error: iSCSI usage specified, but target is missing",
    ],
    ["<key/>", ErrorCode.XML_ERROR, "XML error: unexpected root element <key>, expecting <secret>"],
  ];
  for (const [xml, code, message] of cases) {
    assert.throws(() => parseSecretXML(xml), { code, domain: ErrorDomain.SECRET, message }, xml);
  }
});

test("secret parser fuzz: only VirError escapes", () => {
  fuzzParser(docs, run, 300);
});
