// Turns untrusted XML text into an XmlElement tree. Errors become VirError with libvirt's
// VIR_ERR_XML_DETAIL code and a libxml2-style "(context):LINE: message" text.
// Documents over MAX_XML_BYTES are refused before parsing (libvirt caps XML at 10 MiB too).

import { DOMParser, type Element as DomElement, type Node as DomNode } from "@xmldom/xmldom";
import { ErrorCode, ErrorDomain, VirError } from "../errors/index.js";
import type { XmlElement, XmlNode } from "./tree.js";

export const MAX_XML_BYTES = 10 * 1024 * 1024;

export interface ParseOptions {
  /** libvirt's "(domain_definition)"-style context label used in error messages. */
  context?: string;
  /** Error domain of the object being parsed (DOMAIN, NETWORK, STORAGE, ...). */
  domain?: number;
}

function xmlError(opts: ParseOptions, line: number, msg: string, srcLine: string, col: number): VirError {
  const ctx = opts.context ?? "(xml)";
  const caret = `${"-".repeat(Math.max(0, col))}^`;
  return new VirError({
    code: ErrorCode.XML_DETAIL,
    domain: opts.domain ?? ErrorDomain.XML,
    message: `${ctx}:${line}: ${msg}\n${srcLine}\n${caret}`,
  });
}

function convert(n: DomNode): XmlNode | undefined {
  switch (n.nodeType) {
    case 1: {
      const e = n as unknown as DomElement & { lineNumber?: number };
      const attrs: [string, string][] = [];
      for (let i = 0; i < e.attributes.length; i++) {
        const a = e.attributes.item(i)!;
        attrs.push([a.name, a.value]);
      }
      const children: XmlNode[] = [];
      for (let c = n.firstChild; c; c = c.nextSibling) {
        const x = convert(c);
        if (x) children.push(x);
      }
      return { kind: "element", name: e.tagName, attrs, children, line: e.lineNumber ?? 0 };
    }
    case 3:
      return { kind: "text", text: n.nodeValue ?? "" };
    case 4:
      return { kind: "text", text: n.nodeValue ?? "", cdata: true };
    case 8:
      return { kind: "comment", text: n.nodeValue ?? "" };
    default:
      return undefined;
  }
}

/** Parses a whole document and returns its root element. */
export function parseXml(text: string, opts: ParseOptions = {}): XmlElement {
  if (text.length > MAX_XML_BYTES) {
    throw new VirError({
      code: ErrorCode.XML_ERROR,
      domain: opts.domain ?? ErrorDomain.XML,
      message: `XML error: document exceeds ${MAX_XML_BYTES} bytes`,
    });
  }
  if (text.trim() === "") throw xmlError(opts, 1, "Document is empty", "(null)", 0);
  let failure: { msg: string; line: number; col: number } | undefined;
  const parser = new DOMParser({
    onError: (level: string, msg: string, ctx?: { lineNumber?: number; columnNumber?: number }) => {
      if (level === "warning" || failure) return;
      const m = /line:(\d+),col:(\d+)/.exec(msg);
      failure = {
        msg: msg.replace(/\n?@#\[line:\d+,col:\d+\]/, "").trim(),
        line: m ? Number(m[1]) : (ctx?.lineNumber ?? 1),
        col: m ? Number(m[2]) - 1 : (ctx?.columnNumber ?? 1) - 1,
      };
    },
  });
  let doc: ReturnType<DOMParser["parseFromString"]> | undefined;
  try {
    doc = parser.parseFromString(text, "text/xml");
  } catch (e) {
    if (!failure) failure = { msg: e instanceof Error ? e.message : String(e), line: 1, col: 0 };
  }
  const root = doc?.documentElement;
  if (failure || !root) {
    const f = failure ?? { msg: "Start tag expected, '<' not found", line: 1, col: 0 };
    const lines = text.split("\n");
    throw xmlError(opts, f.line, f.msg, lines[f.line - 1] ?? "", f.col);
  }
  return convert(root as unknown as DomNode) as XmlElement;
}
