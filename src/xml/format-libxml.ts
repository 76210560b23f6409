// Serializes an element as libxml2's xmlNodeDump(format=1) does, which libvirt uses for
// verbatim foreign content such as <metadata>: double-quoted attributes, and no added
// indentation inside an element that has text children.

import type { XmlElement } from "./tree.js";

function escAttr(s: string): string {
  return s.replace(/[&<>"\n\r\t]/g, (c) =>
    c === "&"
      ? "&amp;"
      : c === "<"
        ? "&lt;"
        : c === ">"
          ? "&gt;"
          : c === '"'
            ? "&quot;"
            : c === "\n"
              ? "&#10;"
              : c === "\r"
                ? "&#13;"
                : "&#9;",
  );
}

function escText(s: string): string {
  return s.replace(/[&<>\r]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;",
  );
}

/** Formats `e` at `level` (2 spaces each); no trailing newline, as xmlNodeDump. */
export function formatLibxml(e: XmlElement, level: number, format = true): string {
  let s = `<${e.name}`;
  // libxml2 prints namespace declarations before ordinary attributes.
  const isNs = (k: string) => k === "xmlns" || k.startsWith("xmlns:");
  for (const [k, v] of e.attrs) if (isNs(k)) s += ` ${k}="${escAttr(v)}"`;
  for (const [k, v] of e.attrs) if (!isNs(k)) s += ` ${k}="${escAttr(v)}"`;
  if (e.children.length === 0) return `${s}/>`;
  s += ">";
  const fmt = format && !e.children.some((c) => c.kind === "text");
  for (const c of e.children) {
    if (fmt) s += `\n${"  ".repeat(level + 1)}`;
    if (c.kind === "text") s += c.cdata ? `<![CDATA[${c.text}]]>` : escText(c.text);
    else if (c.kind === "comment") s += `<!--${c.text}-->`;
    else s += formatLibxml(c, level + 1, fmt);
  }
  if (fmt) s += `\n${"  ".repeat(level)}`;
  return `${s}</${e.name}>`;
}
