// Secret XML (libvirt's virSecretDef, secret.rng) ⇄ SecretDef with libvirt 9.0's messages
// (secret_conf.c). The secret's value never appears in XML; drivers store it separately.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, parseXml } from "../../xml/index.js";
import { generateUuid, parseUuid } from "../common/uuid.js";
import { esc, XmlBuf } from "../network/conf-xml.js";

const S = ErrorDomain.SECRET;

export const SECRET_USAGE_TYPES = ["none", "volume", "ceph", "iscsi", "tls", "vtpm"] as const;
export type SecretUsageType = (typeof SECRET_USAGE_TYPES)[number];

/** The element holding the usage id for each usage type, and libvirt's complaint when it is missing. */
const USAGE_ELEMENT: Record<Exclude<SecretUsageType, "none">, [string, string]> = {
  volume: ["volume", "volume usage specified, but volume path is missing"],
  ceph: ["name", "Ceph usage specified, but name is missing"],
  iscsi: ["target", "iSCSI usage specified, but target is missing"],
  tls: ["name", "TLS usage specified, but name is missing"],
  vtpm: ["name", "vTPM usage specified, but name is missing"],
};

export interface SecretDef {
  uuid: string;
  /** Kept only in memory, never written to disk. */
  ephemeral: boolean;
  /** Value may not be read back through the API. */
  private: boolean;
  description?: string;
  usageType: SecretUsageType;
  /** Volume path, Ceph/TLS/vTPM name or iSCSI target, per usageType. */
  usageId?: string;
}

function yesNo(v: string | undefined, what: string): boolean {
  if (v === undefined || v === "") return false;
  if (v !== "yes" && v !== "no") throw virError(ErrorCode.XML_ERROR, S, `invalid value of '${what}'`);
  return v === "yes";
}

/** Parses `<secret>` XML (virSecretDefParseString). */
export function parseSecretXML(xml: string): SecretDef {
  const root = parseXml(xml, { context: "(definition_of_secret)", domain: S });
  if (root.name !== "secret") {
    throw virError(ErrorCode.XML_ERROR, S, `unexpected root element <${root.name}>, expecting <secret>`);
  }
  const def: SecretDef = {
    uuid: "",
    ephemeral: yesNo(attr(root, "ephemeral"), "ephemeral"),
    private: yesNo(attr(root, "private"), "private"),
    usageType: "none",
  };
  const uuidS = childText(root, "uuid");
  if (!uuidS) def.uuid = generateUuid();
  else {
    const u = parseUuid(uuidS);
    if (!u) throw virError(ErrorCode.INTERNAL_ERROR, S, "malformed uuid element");
    def.uuid = u;
  }
  const desc = childText(root, "description");
  if (desc) def.description = desc;
  const usage = child(root, "usage");
  if (usage) {
    const type = attr(usage, "type");
    if (!type) throw virError(ErrorCode.XML_ERROR, S, "unknown secret usage type");
    if (!(SECRET_USAGE_TYPES as readonly string[]).includes(type)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, `unknown secret usage type ${type}`);
    }
    def.usageType = type as SecretUsageType;
    if (def.usageType !== "none") {
      const [elem, missing] = USAGE_ELEMENT[def.usageType];
      const id = childText(usage, elem);
      if (!id) throw virError(ErrorCode.INTERNAL_ERROR, S, missing);
      def.usageId = id;
    }
  }
  return def;
}

/** Formats a secret as `virsh secret-dumpxml` shows it. */
export function formatSecretXML(def: SecretDef): string {
  const buf = new XmlBuf();
  buf.line(`<secret ephemeral='${def.ephemeral ? "yes" : "no"}' private='${def.private ? "yes" : "no"}'>`);
  buf.indent();
  buf.line(`<uuid>${def.uuid}</uuid>`);
  if (def.description !== undefined) buf.line(`<description>${esc(def.description)}</description>`);
  if (def.usageType !== "none") {
    buf.line(`<usage type='${def.usageType}'>`);
    buf.indent();
    const [elem] = USAGE_ELEMENT[def.usageType];
    buf.line(`<${elem}>${esc(def.usageId ?? "")}</${elem}>`);
    buf.dedent();
    buf.line("</usage>");
  }
  buf.dedent();
  buf.line("</secret>");
  return buf.toString();
}
