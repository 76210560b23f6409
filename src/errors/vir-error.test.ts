import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, ErrorDomain, VirError, virError } from "./index.js";

test("messages carry libvirt's prefixes", () => {
  assert.equal(
    virError(ErrorCode.NO_DOMAIN, ErrorDomain.TEST, "no domain with matching name 'x'").message,
    "Domain not found: no domain with matching name 'x'",
  );
  assert.equal(
    virError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "domain is not running").message,
    "Requested operation is not valid: domain is not running",
  );
  assert.equal(
    virError(ErrorCode.DOM_EXIST, ErrorDomain.DOMAIN, "test").message,
    "domain test exists already",
  );
  assert.equal(
    virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE).message,
    "this function is not supported by the connection driver",
  );
});

test("codes match virterror.h", () => {
  assert.equal(ErrorCode.XML_ERROR, 27);
  assert.equal(ErrorCode.NO_DOMAIN, 42);
  assert.equal(ErrorCode.OPERATION_INVALID, 55);
  assert.equal(ErrorCode.CONFIG_UNSUPPORTED, 67);
  assert.equal(ErrorDomain.DOMAIN, 20);
  const e = virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, "x");
  assert.ok(e instanceof VirError && e instanceof Error);
  assert.equal(e.code, 8);
});
