// Error constructors for domain XML parsing, with libvirt's codes, domains and texts
// (virXMLProp* helpers report from VIR_FROM_XML; domain_conf.c from VIR_FROM_DOMAIN).

import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";

/** "XML error: …" from domain_conf.c (domain 20). */
export function xmlErr(detail: string): VirError {
  return virError(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, detail);
}

/** "XML error: …" raised by virxml.c's typed attribute readers (domain 5). */
export function xmlPropErr(detail: string): VirError {
  return virError(ErrorCode.XML_ERROR, ErrorDomain.XML, detail);
}

export function unsupported(detail: string): VirError {
  return virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN, detail);
}

export function internalErr(detail: string): VirError {
  return virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, detail);
}

/** virXMLPropEnum's complaint about a value outside the enum. */
export function invalidAttr(attrName: string, elemName: string, value: string): VirError {
  return xmlPropErr(`Invalid value for attribute '${attrName}' in element '${elemName}': '${value}'.`);
}

/** virXMLPropStringRequired's complaint. */
export function missingAttr(attrName: string, elemName: string): VirError {
  return xmlPropErr(`Missing required attribute '${attrName}' in element '${elemName}'`);
}
