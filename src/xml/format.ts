// Renders an XmlElement tree the way libvirt's virBuffer-based formatters do: two-space indent,
// attributes in single quotes, `<x/>` for empty elements, text-only elements on one line,
// and libvirt's escaping (virBufferEscapeString: < > & ' " ).

import type { XmlElement, XmlNode } from "./tree.js";

const ESC: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" };

const NEEDS_ESC = /[<>&'"]/;
const NEEDS_TEXT_ESC = /[<>&]/;

export function escapeXml(s: string): string {
  // Most values have nothing to escape: a test is cheaper than a replace that builds a copy.
  return NEEDS_ESC.test(s) ? s.replace(/[<>&'"]/g, (c) => ESC[c]!) : s;
}

/** Escaping for text nodes: libxml2's own serializer (used for verbatim metadata) leaves quotes alone. */
export function escapeText(s: string): string {
  return NEEDS_TEXT_ESC.test(s) ? s.replace(/[<>&]/g, (c) => ESC[c]!) : s;
}

function formatAttrs(e: XmlElement): string {
  let s = "";
  for (const [k, v] of e.attrs) s += ` ${k}='${escapeXml(v)}'`;
  return s;
}

function hasElementChild(e: XmlElement): boolean {
  return e.children.some((c) => c.kind === "element" || c.kind === "comment");
}

/** Formats one element at the given indent depth; the result ends with a newline. */
export function formatElement(e: XmlElement, indent = 0): string {
  const pad = padding(indent);
  const open = `${pad}<${e.name}${formatAttrs(e)}`;
  if (e.children.length === 0) return `${open}/>\n`;
  if (!hasElementChild(e)) {
    let text = "";
    for (const c of e.children) if (c.kind === "text") text += escapeXml(c.text);
    return `${open}>${text}</${e.name}>\n`;
  }
  let s = `${open}>\n`;
  for (const c of e.children) s += formatNode(c, indent + 1);
  return `${s}${pad}</${e.name}>\n`;
}

function formatNode(n: XmlNode, indent: number): string {
  if (n.kind === "element") return formatElement(n, indent);
  if (n.kind === "comment") return `${padding(indent)}<!--${n.text}-->\n`;
  // Whitespace-only text between elements is layout, which the formatter re-creates.
  const t = n.text.trim();
  return t === "" ? "" : `${padding(indent)}${escapeXml(t)}\n`;
}

// Indentation strings for the usual depths, made once.
const PADS = Array.from({ length: 16 }, (_, i) => "  ".repeat(i));
function padding(indent: number): string {
  return PADS[indent] ?? "  ".repeat(indent);
}
