// Small helpers shared by the non-domain conf/ kinds (network, storage, snapshot, secret, ...):
// a virBuffer-like line writer, libvirt's generic XML errors, and libxml2-style metadata dumping.
// Pure functions only; nothing here does I/O.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, escapeXml, parseXml, type XmlElement, type XmlNode } from "../../xml/index.js";

export { escapeXml as esc };

/** Line writer with libvirt's two-space indentation (virBufferAdjustIndent). */
export class XmlBuf {
  private out: string[] = [];
  private depth = 0;
  /** Adds one line at the current indent. */
  line(s: string): void {
    this.out.push(`${"  ".repeat(this.depth)}${s}\n`);
  }
  /** Adds text already split in lines (each ending in "\n"), re-indented to the current depth. */
  raw(block: string, extraIndent = 0): void {
    for (const l of block.split("\n"))
      if (l !== "") this.out.push(`${"  ".repeat(this.depth + extraIndent)}${l}\n`);
  }
  indent(): void {
    this.depth++;
  }
  /** `<name attrs>`, the body one level deeper, `</name>`: one element with children. */
  block(name: string, attrs: string, body: () => void): void {
    this.line(`<${name}${attrs}>`);
    this.depth++;
    body();
    this.depth--;
    this.line(`</${name}>`);
  }
  dedent(): void {
    this.depth--;
  }
  toString(): string {
    return this.out.join("");
  }
}

/** ` name='value'` with libvirt's escaping, or "" when value is undefined. */
export function a(name: string, value: string | number | undefined | null): string {
  return value === undefined || value === null ? "" : ` ${name}='${escapeXml(String(value))}'`;
}

/** Parses the document and checks the root's name like virXMLParse does ("expecting root element"). */
export function parseRoot(xml: string, root: string, context: string, domain: number): XmlElement {
  const top = parseXml(xml, { context, domain });
  if (top.name !== root) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.XML,
      `expecting root element of '${root}', not '${top.name}'`,
    );
  }
  return top;
}

/** virXMLPropEnum's complaint for a value outside the enum. */
export function invalidAttr(name: string, elem: string, value: string): VirError {
  return virError(
    ErrorCode.XML_ERROR,
    ErrorDomain.XML,
    `Invalid value for attribute '${name}' in element '${elem}': '${value}'.`,
  );
}

/** virXMLPropEnum with VIR_XML_PROP_REQUIRED: the attribute must be present. */
export function missingAttr(name: string, elem: string): VirError {
  return virError(
    ErrorCode.XML_ERROR,
    ErrorDomain.XML,
    `Missing required attribute '${name}' in element '${elem}'`,
  );
}

/** An attribute whose value must be one of `values` (virXMLPropEnum). */
export function enumAttr<T extends string>(
  e: XmlElement,
  name: string,
  values: readonly T[],
  required = false,
): T | undefined {
  const v = attr(e, name);
  if (v === undefined) {
    if (required) throw missingAttr(name, e.name);
    return undefined;
  }
  if (!(values as readonly string[]).includes(v)) throw invalidAttr(name, e.name, v);
  return v as T;
}

/** yes/no attribute as virTristateBool (undefined when absent). */
export function yesNoAttr(e: XmlElement, name: string): boolean | undefined {
  const v = enumAttr(e, name, ["yes", "no"] as const);
  return v === undefined ? undefined : v === "yes";
}

/** virXMLCheckIllegalChars("name", name, "\n") plus the '/' check object names get. */
export function checkName(name: string, slash = true): void {
  for (const c of slash ? "/\n" : "\n") {
    if (name.includes(c)) {
      throw new VirError({
        code: ErrorCode.XML_DETAIL,
        domain: ErrorDomain.XML,
        message: `invalid char in name: ${c === "\n" ? "0x0a" : c}`,
      });
    }
  }
}

// libxml2's xmlNodeDump escaping: attributes also escape quotes and whitespace controls.
function dumpAttr(v: string): string {
  return v.replace(
    /[<>&"\r\n\t]/g,
    (c) =>
      ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;" })[
        c
      ]!,
  );
}
function dumpText(v: string): string {
  return v.replace(/[<>&\r]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "\r": "&#13;" })[c]!);
}

/** Drops whitespace-only text nodes, as libvirt's parser (XML_PARSE_NOBLANKS) does for metadata. */
function noBlanks(n: XmlNode[]): XmlNode[] {
  return n.filter((c) => c.kind !== "text" || c.text.trim() !== "" || c.cdata);
}

/**
 * Serializes an element as libxml2's xmlNodeDump(format=1) does: double-quoted attributes,
 * namespace declarations first, children indented only when the element has no text child.
 */
export function dumpNode(e: XmlElement, depth = 0, format = true): string {
  const pad = format ? "  ".repeat(depth) : "";
  const attrs = [
    ...e.attrs.filter(([k]) => k === "xmlns" || k.startsWith("xmlns:")),
    ...e.attrs.filter(([k]) => !(k === "xmlns" || k.startsWith("xmlns:"))),
  ];
  let s = `<${e.name}${attrs.map(([k, v]) => ` ${k}="${dumpAttr(v)}"`).join("")}`;
  const kids = noBlanks(e.children);
  if (kids.length === 0) return `${s}/>`;
  s += ">";
  const inline = !format || kids.some((c) => c.kind === "text");
  for (const c of kids) {
    if (c.kind === "text") s += c.cdata ? `<![CDATA[${c.text}]]>` : dumpText(c.text);
    else if (c.kind === "comment") s += inline ? `<!--${c.text}-->` : `\n${pad}  <!--${c.text}-->`;
    else s += inline ? dumpNode(c, 0, false) : `\n${pad}  ${dumpNode(c, depth + 1, true)}`;
  }
  return `${s}${inline ? "" : `\n${pad}`}</${e.name}>`;
}

/** Formats `<metadata>` with each child dumped by libxml2 rules (virXMLFormatMetadata). */
export function formatMetadata(buf: XmlBuf, md: XmlElement | undefined): void {
  if (!md) return;
  const kids = md.children.filter((c): c is XmlElement => c.kind === "element");
  if (kids.length === 0) return;
  buf.line("<metadata>");
  buf.indent();
  for (const k of kids) buf.raw(dumpNode(k));
  buf.dedent();
  buf.line("</metadata>");
}
