// Domain <title>, <description> and namespaced <metadata> elements, read and written as
// virDomainDefGetMetadata / virDomainDefSetMetadata do (domain_conf.c).

import type { DomainDef } from "../../conf/domain/index.js";
import { VIR_DOMAIN_METADATA } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, el, elements, formatLibxml, parseXml, type XmlElement } from "../../xml/index.js";

const D = ErrorDomain.DOMAIN;

function notPresent(): VirError {
  return virError(ErrorCode.NO_DOMAIN_METADATA, D, "Requested metadata element is not present");
}

function unknownType(type: number): VirError {
  return new VirError({
    code: ErrorCode.INVALID_ARG,
    domain: D,
    message: `invalid argument: unknown metadata type '${type}'`,
  });
}

/** The namespace URI an element is in, from its own xmlns declarations. */
function nsOf(e: XmlElement): string | undefined {
  const colon = e.name.indexOf(":");
  return colon < 0 ? attr(e, "xmlns") : attr(e, `xmlns:${e.name.slice(0, colon)}`);
}

export function getMetadata(def: DomainDef, type: number, uri: string | null): string {
  switch (type) {
    case VIR_DOMAIN_METADATA.DESCRIPTION:
      if (def.description === undefined) throw notPresent();
      return def.description;
    case VIR_DOMAIN_METADATA.TITLE:
      if (def.title === undefined) throw notPresent();
      return def.title;
    case VIR_DOMAIN_METADATA.ELEMENT: {
      const e = def.metadata ? elements(def.metadata).find((x) => nsOf(x) === uri) : undefined;
      if (!e) throw notPresent();
      // The caller gets the element back outside the namespace it was stored under.
      const bare = (x: XmlElement): XmlElement => ({ ...x, name: x.name.slice(x.name.indexOf(":") + 1) });
      const out = bare(e);
      out.attrs = out.attrs.filter(([k]) => !k.startsWith("xmlns"));
      out.children = out.children.map((c) => (c.kind === "element" && c.name.includes(":") ? bare(c) : c));
      return formatLibxml(out, 0);
    }
    default:
      throw unknownType(type);
  }
}

function withPrefix(name: string, key: string): string {
  const colon = name.indexOf(":");
  return `${key}:${colon < 0 ? name : name.slice(colon + 1)}`;
}

export function setMetadata(
  def: DomainDef,
  type: number,
  metadata: string | null,
  key: string | null,
  uri: string | null,
): void {
  switch (type) {
    case VIR_DOMAIN_METADATA.DESCRIPTION:
      def.description = metadata ? metadata : undefined;
      return;
    case VIR_DOMAIN_METADATA.TITLE:
      def.title = metadata ? metadata : undefined;
      return;
    case VIR_DOMAIN_METADATA.ELEMENT:
      break;
    default:
      throw unknownType(type);
  }
  let added: XmlElement | undefined;
  if (metadata !== null) {
    const root = parseXml(metadata, { context: "(metadata_xml)", domain: D });
    // virXMLInjectNamespace: the prefix must be an NCName; any URI (even "") is taken
    if (!key || !/^[A-Za-z_][\w.-]*$/.test(key)) {
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.XML,
        "failed to validate prefix for a new XML namespace",
      );
    }
    // virXMLInjectNamespace: the root and its direct element children move into the namespace.
    const kids = root.children.map((c) =>
      c.kind === "element" ? { ...c, name: withPrefix(c.name, key) } : c,
    );
    const attrs = root.attrs.filter(([k]) => k !== `xmlns:${key}`);
    added = {
      ...root,
      name: withPrefix(root.name, key),
      attrs: [[`xmlns:${key}`, uri ?? ""], ...attrs],
      children: kids,
    };
  }
  const md = def.metadata ?? el("metadata");
  md.children = md.children.filter((c) => c.kind !== "element" || nsOf(c) !== uri);
  if (added) md.children.push(added);
  // libvirt keeps an emptied <metadata/> element.
  def.metadata = md;
}
