// Test driver host-interface table: list, lookup by name or MAC, define, undefine, start,
// stop and the begin/commit/rollback transaction, with libvirt 9.0's test-driver errors.

import type { InterfaceDriver, InterfaceRef } from "../../driver/index.js";
import { VIR_CONNECT_LIST_INTERFACES as LI } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { formatInterfaceXML, parseInterfaceXML } from "../../conf/interface/index.js";
import { formatElement, type XmlElement } from "../../xml/index.js";
import { activeListSlots } from "../../state/index.js";
import type { TestCtx } from "./ctx.js";
import { checkFlags, opInvalid, testError } from "./errors.js";
import type { TestIface } from "./node.js";

/** Reads an `<interface>` element into the test driver's record (name, MAC, canonical XML). */
export function ifaceFromElement(e: XmlElement, active: boolean): TestIface {
  return ifaceFromXml(formatElement(e), active);
}

export function ifaceFromXml(xml: string, active: boolean): TestIface {
  const def = parseInterfaceXML(xml);
  if (!def.name) throw virError(ErrorCode.XML_ERROR, ErrorDomain.INTERFACE, "interface has no name");
  return { name: def.name, mac: (def.mac ?? "").toLowerCase(), active, xml: formatInterfaceXML(def) };
}

function ref(i: TestIface): InterfaceRef {
  return { name: i.name, mac: i.mac };
}

function invalid(): VirError {
  return virError(ErrorCode.OPERATION_INVALID, ErrorDomain.TEST);
}

export function testInterfaceDriver(ctx: TestCtx): InterfaceDriver {
  const node = ctx.node;
  const byName = (name: string): TestIface => {
    const i = node.ifaces.find((x) => x.name === name);
    if (!i) throw testError(ErrorCode.NO_INTERFACE, `no interface with matching name '${name}'`);
    return i;
  };
  return {
    name: "TEST",
    ...activeListSlots("Interfaces", () => node.ifaces),
    async connectListAllInterfaces(flags) {
      checkFlags(flags, LI.ACTIVE | LI.INACTIVE, "testConnectListAllInterfaces");
      return node.ifaces
        .filter((i) => {
          if (!(flags & (LI.ACTIVE | LI.INACTIVE))) return true;
          return (flags & LI.ACTIVE && i.active) || (flags & LI.INACTIVE && !i.active);
        })
        .map(ref);
    },
    async interfaceLookupByName(name) {
      return ref(byName(name));
    },
    async interfaceLookupByMACString(mac) {
      // libvirt 9.0 compares with g_ascii_strcasecmp, which calls an interface without a MAC
      // (a NULL string) equal to any: such an interface matches every lookup
      const hits = node.ifaces.filter((x) => x.mac === "" || x.mac === mac.toLowerCase());
      if (hits.length === 0)
        throw testError(ErrorCode.NO_INTERFACE, `no interface with matching mac '${mac}'`);
      if (hits.length > 1) throw testError(ErrorCode.MULTIPLE_INTERFACES);
      return ref(hits[0]!);
    },
    async interfaceGetXMLDesc(r, flags) {
      checkFlags(flags, 0, "testInterfaceGetXMLDesc");
      return byName(r.name).xml;
    },
    async interfaceDefineXML(xml, flags) {
      // VIR_INTERFACE_DEFINE_VALIDATE: accepted, parsed only (no RelaxNG validator)
      checkFlags(flags, 1, "testInterfaceDefineXML");
      const rec = ifaceFromXml(xml, false);
      const old = node.ifaces.findIndex((x) => x.name === rec.name);
      if (old >= 0) {
        rec.active = node.ifaces[old]!.active;
        node.ifaces[old] = rec;
      } else node.ifaces.push(rec);
      return ref(rec);
    },
    async interfaceUndefine(r) {
      const i = byName(r.name);
      node.ifaces.splice(node.ifaces.indexOf(i), 1);
    },
    async interfaceCreate(r, flags) {
      checkFlags(flags, 0, "testInterfaceCreate");
      const i = byName(r.name);
      if (i.active) throw invalid();
      i.active = true;
    },
    async interfaceDestroy(r, flags) {
      checkFlags(flags, 0, "testInterfaceDestroy");
      const i = byName(r.name);
      if (!i.active) throw invalid();
      i.active = false;
    },
    async interfaceIsActive(r) {
      return byName(r.name).active;
    },
    async interfaceChangeBegin(flags) {
      checkFlags(flags, 0, "testInterfaceChangeBegin");
      if (node.backupIfaces) throw opInvalid("there is another transaction running.");
      // libvirt's list clone does not carry the active flag: a rollback leaves all inactive.
      node.backupIfaces = node.ifaces.map((i) => ({ ...i, active: false }));
    },
    async interfaceChangeCommit(flags) {
      checkFlags(flags, 0, "testInterfaceChangeCommit");
      if (!node.backupIfaces) throw opInvalid("no transaction running, nothing to be committed.");
      node.backupIfaces = undefined;
    },
    async interfaceChangeRollback(flags) {
      checkFlags(flags, 0, "testInterfaceChangeRollback");
      if (!node.backupIfaces) throw opInvalid("no transaction running, nothing to rollback.");
      node.ifaces = node.backupIfaces;
      node.backupIfaces = undefined;
    },
  };
}
