// Turns untrusted XML text into an XmlElement tree. Errors become VirError with libvirt's
// VIR_ERR_XML_DETAIL code and the text libvirt builds from libxml2's report:
// "(context):LINE: message\n<source line>\n----^" (virxml.c catchXMLError).
// Documents over MAX_XML_BYTES are refused before parsing (libvirt caps XML at 10 MiB too).

import { ErrorCode, ErrorDomain, VirError } from "../errors/index.js";
import { Scanner, XmlSyntaxError } from "./scanner.js";
import type { XmlElement } from "./tree.js";

export const MAX_XML_BYTES = 10 * 1024 * 1024;

export interface ParseOptions {
  /** libvirt's "(domain_definition)"-style context label used in error messages. */
  context?: string;
  /** Error domain of the object being parsed (DOMAIN, NETWORK, STORAGE, ...). */
  domain?: number;
}

function utf8Len(c: string): number {
  const n = c.codePointAt(0)!;
  return n < 0x80 ? 1 : n < 0x800 ? 2 : n < 0x10000 ? 3 : 4;
}

/** Builds libvirt's "source line + caret" context for an error at offset `pos`. */
export function errorContext(text: string, pos: number): { line: number; content: string; pointer: string } {
  let line = 1;
  for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === 10) line++;
  const nl = (i: number) => text[i] === "\n" || text[i] === "\r";
  let cur = pos;
  while (cur > 0 && nl(cur)) cur--;
  while (cur > 0 && !nl(cur)) cur--;
  if (nl(cur)) cur++;
  let end = cur;
  while (end < text.length && !nl(end)) end++;
  const content = text.slice(cur, end);
  // libvirt counts the caret offset in bytes of the UTF-8 line.
  let col = 0;
  for (const c of text.slice(cur, Math.max(cur, pos))) col += utf8Len(c);
  let pointer = "";
  let n = 0;
  for (const c of content) {
    if (n >= col) break;
    const w = utf8Len(c);
    pointer += c === "\t" ? "\t" : "-".repeat(Math.min(w, col - n));
    n += w;
  }
  return { line, content: content === "" ? "(null)" : content, pointer: `${pointer}^` };
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
  try {
    return new Scanner(text).parseDocument();
  } catch (e) {
    if (!(e instanceof XmlSyntaxError)) throw e;
    const ctx = errorContext(text, e.pos);
    throw new VirError({
      code: ErrorCode.XML_DETAIL,
      domain: opts.domain ?? ErrorDomain.XML,
      message: `${opts.context ?? "(xml)"}:${ctx.line}: ${e.message}\n${ctx.content}\n${ctx.pointer}`,
    });
  }
}
