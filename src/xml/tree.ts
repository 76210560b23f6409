// The XML tree every conf/ parser reads and every formatter builds: elements with ordered
// attributes, child nodes (elements, text, comments) and the source line for error messages.
// Plain data, no DOM: parse produces it, format renders it.

export interface XmlElement {
  kind: "element";
  name: string;
  /** Attributes in document order; `[name, value]` pairs (names keep their prefix, e.g. xmlns:foo). */
  attrs: [string, string][];
  children: XmlNode[];
  /** 1-based line in the source document; 0 for built elements. */
  line: number;
}
export interface XmlText {
  kind: "text";
  text: string;
  cdata?: boolean;
}
export interface XmlComment {
  kind: "comment";
  text: string;
}
export type XmlNode = XmlElement | XmlText | XmlComment;

/** Attribute value, or undefined when absent. */
export function attr(e: XmlElement, name: string): string | undefined {
  // Indexed loops without destructuring in these helpers: every parser and formatter calls them,
  // mostly from code that is still interpreted or baseline-compiled, where for-of and `[k, v]`
  // each run the iterator protocol (a pair costs three next() calls).
  const a = e.attrs;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!;
    if (p[0] === name) return p[1];
  }
  return undefined;
}

/** Child elements, optionally only those named `name`. */
export function elements(e: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  const ch = e.children;
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "element" && (name === undefined || c.name === name)) out.push(c);
  }
  return out;
}

/** First child element named `name`. */
export function child(e: XmlElement, name: string): XmlElement | undefined {
  const ch = e.children;
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "element" && c.name === name) return c;
  }
  return undefined;
}

/** Follows a path of child names ("os/type"). */
export function childPath(e: XmlElement, path: string): XmlElement | undefined {
  let cur: XmlElement | undefined = e;
  for (const part of path.split("/")) {
    if (!cur) return undefined;
    cur = child(cur, part);
  }
  return cur;
}

/** Concatenated text of the element's direct and nested text nodes (libxml2's xmlNodeGetContent). */
export function textContent(e: XmlElement): string {
  const ch = e.children;
  if (ch.length === 1 && ch[0]!.kind === "text") return ch[0]!.text;
  let s = "";
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "text") s += c.text;
    else if (c.kind === "element") s += textContent(c);
  }
  return s;
}

/** Text of the named child, or undefined when that child is absent. */
export function childText(e: XmlElement, name: string): string | undefined {
  const c = child(e, name);
  return c ? textContent(c) : undefined;
}

type AttrInput = Record<string, string | number | boolean | undefined | null> | [string, unknown][];

/**
 * Builds an element for formatting. Attributes whose value is undefined or null are left out,
 * so optional fields can be passed straight through. Children may be elements, strings
 * (text), or falsy values (skipped) to keep formatter code flat.
 */
export function el(
  name: string,
  attrs?: AttrInput,
  ...children: (XmlNode | string | undefined | null | false | (XmlNode | undefined | null | false)[])[]
): XmlElement {
  // Plain loops: formatting a domain builds hundreds of elements, and Object.entries /
  // children.flat() allocated more than the elements themselves.
  const a: [string, string][] = [];
  if (Array.isArray(attrs)) {
    for (let i = 0; i < attrs.length; i++) {
      const p = attrs[i]!;
      const v = p[1];
      if (v !== undefined && v !== null) a.push([p[0], String(v)]);
    }
  } else if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v !== undefined && v !== null) a.push([k, String(v)]);
    }
  }
  const kids: XmlNode[] = [];
  for (let i = 0; i < children.length; i++) {
    const c = children[i];
    if (Array.isArray(c)) for (let j = 0; j < c.length; j++) addChild(kids, c[j]);
    else addChild(kids, c);
  }
  return { kind: "element", name, attrs: a, children: kids, line: 0 };
}

function addChild(kids: XmlNode[], c: XmlNode | string | undefined | null | false): void {
  if (c === undefined || c === null || c === false) return;
  kids.push(typeof c === "string" ? { kind: "text", text: c } : c);
}

/** True when the element has neither attributes nor children: libvirt omits such wrappers. */
export function isEmpty(e: XmlElement): boolean {
  return e.attrs.length === 0 && e.children.length === 0;
}
