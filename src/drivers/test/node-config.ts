// Builds a TestNode from libvirt's test-driver `<node>` document: domains, networks, pools
// (with volumes), interfaces and devices given inline or by file='...' (relative to the node
// file), plus <cpu>/<memory> node info and the test: namespace run state of domains.

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseNetworkXML } from "../../conf/network/index.js";
import { parseStoragePoolXML, parseStorageVolXML } from "../../conf/storage/index.js";
import { VIR_DOMAIN_RUNNING, VIR_DOMAIN_STATE } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import {
  attr,
  child,
  childText,
  elements,
  formatElement,
  parseXml,
  type XmlElement,
} from "../../xml/index.js";
import { newTestDomain, setRunning } from "./domain-obj.js";
import { parseDef } from "./domain-lifecycle.js";
import { ifaceFromElement } from "./interfaces.js";
import { TestNode } from "./node.js";
import { nodeDevFromElement } from "./nodedev.js";
import { setPoolDefaults } from "./storage-obj.js";

const TEST_NS = "http://libvirt.org/schemas/domain/test/1.0";

function parseFailed(path: string): VirError {
  return virError(ErrorCode.XML_ERROR, ErrorDomain.TEST, `failed to parse xml document '${path}'`);
}

/**
 * Reads a document as libxml2's xmlReadFile does for virXMLParse: a file that does not open is
 * "failed to parse" after libxml2's own warning on standard error; a directory opens but reads
 * nothing ("I/O error", then the empty document's parse error).
 */
function readDocument(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EISDIR") {
      process.stderr.write("I/O error : Is a directory\n");
      return "";
    }
    process.stderr.write(`I/O warning : failed to load external entity "${path}"\n`);
    throw parseFailed(path);
  }
}

/** Follows `<x file='...'/>` to the referenced document's root element. */
function resolveRef(e: XmlElement, base: string | undefined): XmlElement {
  const file = attr(e, "file");
  if (file === undefined) return e;
  const path = base && !file.startsWith("/") ? resolve(base, file) : file;
  return parseXml(readDocument(path), { context: path, domain: ErrorDomain.TEST });
}

/** The domain element without the test: namespace extras, and those extras. */
function splitTestNs(e: XmlElement): {
  dom: XmlElement;
  runstate?: number;
  transient: boolean;
  managedSave: boolean;
} {
  const prefix = e.attrs.find(([k, v]) => k.startsWith("xmlns:") && v === TEST_NS)?.[0].slice(6) ?? "test";
  const mine = (x: XmlElement) => x.name.startsWith(`${prefix}:`);
  const extras = elements(e).filter(mine);
  const get = (n: string) => extras.find((x) => x.name === `${prefix}:${n}`);
  const rs = get("runstate");
  let runstate: number | undefined;
  if (rs) {
    const txt = rs.children
      .map((c) => (c.kind === "text" ? c.text : ""))
      .join("")
      .trim();
    const n = Number(txt);
    if (!/^[0-9]+$/.test(txt)) throw virError(ErrorCode.XML_ERROR, ErrorDomain.TEST, "invalid runstate");
    if (n > 7) throw virError(ErrorCode.XML_ERROR, ErrorDomain.TEST, `runstate '${n}' out of range'`);
    runstate = n;
  }
  const transient = get("transient") !== undefined;
  const managedSave = get("hasmanagedsave") !== undefined;
  if (transient && runstate === VIR_DOMAIN_STATE.SHUTOFF) {
    throw virError(ErrorCode.XML_ERROR, ErrorDomain.TEST, "transient domain cannot have runstate 'shutoff'");
  }
  if (managedSave && runstate !== VIR_DOMAIN_STATE.SHUTOFF) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.TEST,
      "domain with managedsave data can only have runstate 'shutoff'",
    );
  }
  const dom: XmlElement = {
    ...e,
    attrs: e.attrs.filter(([k, v]) => !(k.startsWith("xmlns:") && v === TEST_NS)),
    children: e.children.filter((c) => c.kind !== "element" || !mine(c)),
  };
  return { dom, runstate, transient, managedSave };
}

function num(e: XmlElement, path: string): number | undefined {
  const parts = path.split("/");
  let cur: XmlElement | undefined = e;
  for (const p of parts) cur = cur ? child(cur, p) : undefined;
  if (!cur) return undefined;
  const t = cur.children
    .map((c) => (c.kind === "text" ? c.text : ""))
    .join("")
    .trim();
  const n = Number(t);
  return Number.isFinite(n) && t !== "" ? n : undefined;
}

/** Parses a `<node>` document into a fresh node. `base` is the directory for file= references. */
export function loadNode(text: string, base?: string, source = "(node)"): TestNode {
  const root = parseXml(text, { context: source, domain: ErrorDomain.TEST });
  if (root.name !== "node") {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.XML,
      `expecting root element of 'node', not '${root.name}'`,
    );
  }
  const node = new TestNode();
  const ni = node.nodeInfo;
  const nodes = num(root, "cpu/nodes");
  if (nodes !== undefined) ni.nodes = nodes;
  const sockets = num(root, "cpu/sockets");
  if (sockets !== undefined) ni.sockets = sockets;
  const cores = num(root, "cpu/cores");
  if (cores !== undefined) ni.cores = cores;
  const threads = num(root, "cpu/threads");
  if (threads !== undefined) ni.threads = threads;
  ni.cpus = ni.nodes * ni.sockets * ni.cores * ni.threads;
  const active = num(root, "cpu/active");
  if (active !== undefined) ni.cpus = Math.min(active, ni.cpus);
  const mhz = num(root, "cpu/mhz");
  if (mhz !== undefined) ni.mhz = mhz;
  const model = childText(child(root, "cpu") ?? root, "model");
  if (child(root, "cpu") && model !== undefined) ni.model = model.slice(0, 31);
  const mem = num(root, "memory");
  if (mem !== undefined) ni.memory = mem;

  for (const raw of elements(root, "domain")) {
    const { dom, runstate, transient, managedSave } = splitTestNs(resolveRef(raw, base));
    const def = parseDef(formatElement(dom));
    if (node.domains.byUuid(def.uuid) || node.domains.byName(def.name)) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.DOMAIN,
        `domain '${def.name}' already exists with uuid ${def.uuid}`,
      );
    }
    const d = node.domains.add(newTestDomain(def));
    d.persistent = !transient;
    d.hasManagedSave = managedSave;
    const rs = runstate ?? VIR_DOMAIN_STATE.RUNNING;
    if (rs !== VIR_DOMAIN_STATE.SHUTOFF) {
      setRunning(d, node.allocDomId(), VIR_DOMAIN_RUNNING.BOOTED);
      d.state = rs;
      d.reason = 0;
    }
  }
  for (const raw of elements(root, "network")) {
    const def = parseNetworkXML(formatElement(resolveRef(raw, base)));
    node.networks.add({
      name: def.name,
      uuid: def.uuid,
      def,
      active: true,
      persistent: true,
      autostart: false,
    });
  }
  for (const raw of elements(root, "interface"))
    node.ifaces.push(ifaceFromElement(resolveRef(raw, base), true));
  for (const raw of elements(root, "pool")) {
    const pe = resolveRef(raw, base);
    const volEls = elements(pe, "volume");
    const poolXml = formatElement({
      ...pe,
      children: pe.children.filter((c) => c.kind !== "element" || c.name !== "volume"),
    });
    const def = parseStoragePoolXML(poolXml);
    setPoolDefaults(def);
    const pool = node.pools.add({
      name: def.name,
      uuid: def.uuid,
      def,
      active: true,
      persistent: true,
      autostart: false,
      volumes: [],
    });
    for (const ve of volEls) {
      const v = parseStorageVolXML(formatElement(resolveRef(ve, base)), def.type);
      v.target.path = `${def.target.path ?? ""}/${v.name}`;
      v.key = v.target.path;
      def.allocation += v.allocation;
      def.available = def.capacity - def.allocation;
      pool.volumes.push(v);
    }
  }
  for (const raw of elements(root, "device")) node.devs.push(nodeDevFromElement(resolveRef(raw, base)));
  return node;
}

/** Loads `test:///ABSOLUTE/PATH` (testOpenFromFile). */
export function loadNodeFile(path: string): TestNode {
  return loadNode(readDocument(path), dirname(path), path);
}
