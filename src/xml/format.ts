// Renders an XmlElement tree the way libvirt's virBuffer-based formatters do: two-space indent,
// attributes in single quotes, `<x/>` for empty elements, text-only elements on one line,
// and libvirt's escaping (virBufferEscapeString: < > & ' " ).

import type { XmlElement, XmlNode } from "./tree.js";

const ESC: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" };

const NEEDS_ESC = /[<>&'"]/;
const NEEDS_TEXT_ESC = /[<>&]/;

export function escapeXml(s: string): string {
  // Most values have nothing to escape: a test is cheaper than a replace that builds a copy, and
  // for the usual short value a character loop is cheaper than the regular expression's call.
  if (s.length > 64) return NEEDS_ESC.test(s) ? s.replace(/[<>&'"]/g, (c) => ESC[c]!) : s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // < > & ' "
    if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x27 || c === 0x22)
      return s.replace(/[<>&'"]/g, (ch) => ESC[ch]!);
  }
  return s;
}

/** Escaping for text nodes: libxml2's own serializer (used for verbatim metadata) leaves quotes alone. */
export function escapeText(s: string): string {
  return NEEDS_TEXT_ESC.test(s) ? s.replace(/[<>&]/g, (c) => ESC[c]!) : s;
}

// Indexed loops, no destructuring: see attr() in tree.ts.
function formatAttrs(e: XmlElement): string {
  let s = "";
  const a = e.attrs;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!;
    s += ` ${p[0]}='${escapeXml(p[1])}'`;
  }
  return s;
}

function hasElementChild(e: XmlElement): boolean {
  const ch = e.children;
  for (let i = 0; i < ch.length; i++) {
    const k = ch[i]!.kind;
    if (k === "element" || k === "comment") return true;
  }
  return false;
}

// libvirt's domain formatter writes a few elements with an open and a close tag even when they
// are empty; conf/domain/format.ts rewrites them in the finished text. Formatting notes when it
// wrote such an element (or a comment, whose text is written as it is), so that the rewrite
// searches only documents that may have one rather than every document.
let openCloseSeen = false;

/** Whether an empty hyperv/redirdev/nvram element or a comment was formatted since the last call. */
export function takeOpenCloseSeen(): boolean {
  const seen = openCloseSeen;
  openCloseSeen = false;
  return seen;
}

/** Formats one element at the given indent depth; the result ends with a newline. */
export function formatElement(e: XmlElement, indent = 0): string {
  const pad = padding(indent);
  const open = `${pad}<${e.name}${formatAttrs(e)}`;
  if (e.children.length === 0) {
    const n = e.name;
    if (n === "hyperv" || n === "redirdev" || n === "nvram") openCloseSeen = true;
    return `${open}/>\n`;
  }
  const ch = e.children;
  if (!hasElementChild(e)) {
    let text = "";
    for (let i = 0; i < ch.length; i++) {
      const c = ch[i]!;
      if (c.kind === "text") text += escapeXml(c.text);
    }
    return `${open}>${text}</${e.name}>\n`;
  }
  let s = `${open}>\n`;
  for (let i = 0; i < ch.length; i++) s += formatNode(ch[i]!, indent + 1);
  return `${s}${pad}</${e.name}>\n`;
}

function formatNode(n: XmlNode, indent: number): string {
  if (n.kind === "element") return formatElement(n, indent);
  if (n.kind === "comment") {
    openCloseSeen = true;
    return `${padding(indent)}<!--${n.text}-->\n`;
  }
  // Whitespace-only text between elements is layout, which the formatter re-creates.
  const t = n.text.trim();
  return t === "" ? "" : `${padding(indent)}${escapeXml(t)}\n`;
}

// Indentation strings for the usual depths, made once.
const PADS = Array.from({ length: 16 }, (_, i) => "  ".repeat(i));
function padding(indent: number): string {
  return PADS[indent] ?? "  ".repeat(indent);
}
