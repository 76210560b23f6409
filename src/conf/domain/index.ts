// Public face of the domain definition model: parse → post-parse → validate, format, clone.
// Other modules (drivers, snapshot conf, QEMU argv builder) import only from here.

import type { XmlElement } from "../../xml/index.js";
import { parseDomainTree, parseDomainXMLTree } from "./parse.js";
import { type PostParseOptions, postParseDomain } from "./post-parse.js";
import type { DomainDef } from "./types.js";
import { validateDomain } from "./validate.js";

export type { FormatOptions } from "./format.js";
export { formatDomainXML } from "./format.js";
export type * from "./types.js";
export * from "./accessors.js";
export { diskNameToIndex } from "./devices/disk.js";
export { compactDomainDef } from "./compact.js";

export interface ParseDomainOptions extends PostParseOptions {
  /** VIR_DOMAIN_DEFINE_* / parse flags (reserved; validation always runs). */
  flags?: number;
}

/** Parses, fills defaults and validates domain XML. Throws VirError as libvirt would. */
export function parseDomainXML(xml: string, opts: ParseDomainOptions = {}): DomainDef {
  return parseDomainXMLWith(xml, opts, () => {});
}

/**
 * parseDomainXML that first shows the parsed element tree to `look` (before the definition is
 * built from it), for callers that need a fact of the text the definition loses (the QEMU
 * driver: whether `<os><type arch>` was given), without parsing the XML a second time.
 */
export function parseDomainXMLWith(
  xml: string,
  opts: ParseDomainOptions,
  look: (root: XmlElement) => void,
): DomainDef {
  const root = parseDomainXMLTree(xml);
  look(root);
  const def = parseDomainTree(root);
  postParseDomain(def, opts);
  // a driver that names its own taps (QEMU) also adds its default USB controller, then checks USB
  validateDomain(def, opts.noIfnames === true);
  return def;
}

/** Deep copy, so a driver can keep separate live and persistent definitions. */
export function cloneDomainDef(def: DomainDef): DomainDef {
  return structuredClone(def);
}
