// A small strict XML 1.0 parser for untrusted documents. It stops at the first well-formedness
// error and reports it as libxml2 does (same message text and cursor position), because libvirt
// hands libxml2's text to the user. Namespaces are kept as plain prefixed names; an internal
// DTD subset may declare simple text entities; nothing is fetched from outside.

import type { XmlElement, XmlNode } from "./tree.js";

/** Where the parser stopped and why (libxml2's message without the trailing newline). */
export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/** libxml2's default nesting limit without XML_PARSE_HUGE. */
const MAX_DEPTH = 256;

const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' };

function isBlank(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

function isNameStart(c: string): boolean {
  const n = c.charCodeAt(0);
  return (
    (n >= 0x61 && n <= 0x7a) ||
    (n >= 0x41 && n <= 0x5a) ||
    c === "_" ||
    c === ":" ||
    (n >= 0xc0 && n !== 0xd7 && n !== 0xf7 && n <= 0x2ff) ||
    (n >= 0x370 && n !== 0x37e && n <= 0x1fff) ||
    n === 0x200c ||
    n === 0x200d ||
    (n >= 0x2070 && n <= 0x218f) ||
    (n >= 0x2c00 && n <= 0x2fef) ||
    (n >= 0x3001 && n <= 0xd7ff) ||
    (n >= 0xd800 && n <= 0xdbff) ||
    (n >= 0xf900 && n <= 0xfdcf) ||
    (n >= 0xfdf0 && n <= 0xfffd)
  );
}

function isNameChar(c: string): boolean {
  if (isNameStart(c)) return true;
  const n = c.charCodeAt(0);
  return (
    (n >= 0x30 && n <= 0x39) ||
    c === "-" ||
    c === "." ||
    n === 0xb7 ||
    (n >= 0xdc00 && n <= 0xdfff) ||
    (n >= 0x300 && n <= 0x36f) ||
    n === 0x203f ||
    n === 0x2040
  );
}

/** XML Char production: tab, LF, CR, and everything from space up except surrogates/FFFE/FFFF. */
function isXmlCharCode(n: number): boolean {
  return (
    n === 0x9 ||
    n === 0xa ||
    n === 0xd ||
    (n >= 0x20 && n <= 0xd7ff) ||
    (n >= 0xe000 && n <= 0xfffd) ||
    (n >= 0x10000 && n <= 0x10ffff)
  );
}

// Sticky patterns that step over the common case in one native call: a per-character loop over
// `this.pos` costs a property load and store per character while the parser is still cold
// (interpreted or baseline code, every define of a fresh daemon). Each stops where the exact
// per-character code below has something to decide.
/** Blanks. */
const BLANKS = /[ \t\n\r]*/y;
/** An all-ASCII name (the full rule decides at the first non-ASCII character). */
const ASCII_NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
/** Plain attribute-value characters inside '...' and "..." (not the quote, '<', '&', controls). */
const ATTR_PLAIN_SQ = /[^'<&\x00-\x1f]*/y;
const ATTR_PLAIN_DQ = /[^"<&\x00-\x1f]*/y;
/** Plain character data: not '<', '&', ']', a control character other than tab/LF/CR, U+FFFE/F. */
const TEXT_PLAIN = /[^<&\]\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*/y;

/** Where `re` (sticky) stops matching when run at `pos`. */
function runEnd(re: RegExp, s: string, pos: number): number {
  re.lastIndex = pos;
  return re.test(s) ? re.lastIndex : pos;
}

// Element and attribute names, one string per distinct name: the parsers look names up in Maps
// and compare them with literals over and over, and a name seen before then has its hash already
// computed and, being internalized like the literals, compares by identity. Bounded: names come
// from untrusted documents.
const NAMES = new Map<string, string>();
const NAMES_MAX = 4096;

function canonName(n: string): string {
  const c = NAMES.get(n);
  if (c !== undefined) return c;
  if (NAMES.size >= NAMES_MAX) return n;
  // internalized: used as a property name of a dictionary-mode object, read back by Object.keys
  const o: Record<string, number> = Object.create(null);
  o[n] = 0;
  const i = Object.keys(o)[0] ?? n;
  NAMES.set(i, i);
  return i;
}

/**
 * A name of `s` from `start` to `end`, as canonName gives it, found without slicing when the same
 * name was read last time into its slot (the usual case: a daemon reads the same element and
 * attribute names in every document): a cache of the last canonical name per (length, first,
 * middle and last character), each entry checked against the text before it is used.
 */
const NAME_SLOTS = 1024;
const nameSlots: string[] = new Array<string>(NAME_SLOTS).fill("");

function slotOf(s: string, start: number, end: number): number {
  const len = end - start;
  return (
    (len * 97 + s.charCodeAt(start) * 31 + s.charCodeAt(start + (len >> 1)) * 7 + s.charCodeAt(end - 1)) &
    (NAME_SLOTS - 1)
  );
}

function nameAt(s: string, start: number, end: number): string {
  const slot = slotOf(s, start, end);
  const c = nameSlots[slot]!;
  if (c.length === end - start && s.startsWith(c, start)) return c;
  const n = canonName(s.slice(start, end));
  nameSlots[slot] = n;
  return n;
}

/**
 * Values (attribute values, text) up to this many characters are looked up in a small cache like
 * names: a value seen in the previous document ("file", "virtio", the indentation between
 * elements) is the same string again, neither sliced anew nor hashed again where a later step
 * (compactDomainDef's tables) looks it up. Longer ones are plain slices, as before.
 */
const VALUE_CACHED = 12;
const valueSlots: string[] = new Array<string>(NAME_SLOTS).fill("");

function valueAt(s: string, start: number, end: number): string {
  const len = end - start;
  if (len > VALUE_CACHED || len === 0) return s.slice(start, end);
  const slot = slotOf(s, start, end);
  const c = valueSlots[slot]!;
  if (c.length === len && s.startsWith(c, start)) return c;
  const v = s.slice(start, end);
  valueSlots[slot] = v;
  return v;
}

export class Scanner {
  private pos = 0;
  private readonly entities: Record<string, string> = {};

  constructor(private readonly s: string) {}

  private fail(msg: string, at = this.pos): never {
    throw new XmlSyntaxError(msg, Math.min(at, this.s.length));
  }

  private linePos = 0;
  private lineNo = 1;

  /** 1-based line of offset `p`; offsets asked for only grow, so this stays linear overall. */
  private lineAt(p: number): number {
    if (p < this.linePos) {
      this.linePos = 0;
      this.lineNo = 1;
    }
    // Jumps from newline to newline (indexOf) instead of testing every character.
    const s = this.s;
    for (;;) {
      const nl = s.indexOf("\n", this.linePos);
      if (nl < 0 || nl >= p) break;
      this.lineNo++;
      this.linePos = nl + 1;
    }
    if (p > this.linePos) this.linePos = Math.min(p, s.length);
    return this.lineNo;
  }

  private skipBlanks(): number {
    const start = this.pos;
    const n = this.s.charCodeAt(start);
    if (n !== 0x20 && n !== 0x0a && n !== 0x09 && n !== 0x0d) return 0;
    this.pos = runEnd(BLANKS, this.s, start);
    return this.pos - start;
  }

  private startsWith(t: string): boolean {
    return this.s.startsWith(t, this.pos);
  }

  private name(): string | undefined {
    const s = this.s;
    const start = this.pos;
    const end = runEnd(ASCII_NAME, s, start);
    if (end > start && !(s.charCodeAt(end) >= 0x80)) {
      this.pos = end;
      return nameAt(s, start, end);
    }
    const c = s[this.pos];
    if (c === undefined || !isNameStart(c)) return undefined;
    this.pos++;
    while (this.pos < s.length) {
      // ASCII letters, digits, '-', '.', '_' and ':' decided by code; the rest by the full rule.
      const n = s.charCodeAt(this.pos);
      if (
        (n >= 0x61 && n <= 0x7a) ||
        (n >= 0x41 && n <= 0x5a) ||
        (n >= 0x30 && n <= 0x3a) ||
        n === 0x2d ||
        n === 0x2e ||
        n === 0x5f
      ) {
        this.pos++;
        continue;
      }
      if (n < 0x80 || !isNameChar(s[this.pos]!)) break;
      this.pos++;
    }
    return canonName(s.slice(start, this.pos));
  }

  /** Parses the whole document and returns the root element. */
  parseDocument(): XmlElement {
    if (this.s.length === 0) this.fail("Document is empty");
    if (this.startsWith("<?xml") && isBlank(this.s[5])) this.xmlDecl();
    this.misc(true);
    if (this.pos >= this.s.length || this.s[this.pos] !== "<") {
      this.fail("Start tag expected, '<' not found");
    }
    const root = this.element();
    this.misc(false);
    if (this.pos < this.s.length) this.fail("Extra content at the end of the document");
    return root;
  }

  private xmlDecl(): void {
    const end = this.s.indexOf("?>", this.pos);
    if (end < 0) {
      this.pos = this.s.length;
      this.fail("parsing XML declaration: '?>' expected");
    }
    this.pos = end + 2;
  }

  /** Comments, PIs and blanks (and, before the root, one DOCTYPE). */
  private misc(prolog: boolean): void {
    for (;;) {
      this.skipBlanks();
      if (this.startsWith("<!--")) this.comment();
      else if (this.startsWith("<?")) this.pi();
      else if (prolog && this.startsWith("<!DOCTYPE")) this.doctype();
      else return;
    }
  }

  private comment(): string {
    const start = this.pos;
    this.pos += 4;
    const body = this.pos;
    for (;;) {
      if (this.pos >= this.s.length) this.fail("Comment not terminated", this.s.length);
      if (this.startsWith("--")) {
        if (this.s[this.pos + 2] === ">") {
          const text = this.s.slice(body, this.pos);
          this.pos += 3;
          return text;
        }
        this.fail(`Double hyphen within comment: ${this.s.slice(start, this.pos)}`);
      }
      this.pos++;
    }
  }

  private pi(): void {
    this.pos += 2;
    const target = this.name();
    if (target === undefined) this.fail("xmlParsePI : no target name");
    if (target.toLowerCase() === "xml")
      this.fail("XML declaration allowed only at the start of the document");
    const end = this.s.indexOf("?>", this.pos);
    if (end < 0) {
      this.pos = this.s.length;
      this.fail(`ParsePI: PI ${target} never end ...`);
    }
    this.pos = end + 2;
  }

  private doctype(): void {
    this.pos += 9;
    this.skipBlanks();
    if (this.name() === undefined) this.fail("xmlParseDocTypeDecl : no DOCTYPE name !");
    for (;;) {
      this.skipBlanks();
      const c = this.s[this.pos];
      if (c === undefined) this.fail("DOCTYPE improperly terminated");
      if (c === ">") {
        this.pos++;
        return;
      }
      if (c === "[") {
        this.pos++;
        this.internalSubset();
        continue;
      }
      if (c === "'" || c === '"') {
        const end = this.s.indexOf(c, this.pos + 1);
        if (end < 0) this.fail("SystemLiteral \" or ' expected");
        this.pos = end + 1;
        continue;
      }
      if (this.name() === undefined) this.fail("DOCTYPE improperly terminated");
    }
  }

  /** Reads `<!ENTITY name 'value'>` declarations and skips every other markup declaration. */
  private internalSubset(): void {
    for (;;) {
      this.skipBlanks();
      if (this.pos >= this.s.length)
        this.fail("xmlParseInternalSubset: error detected in Markup declaration");
      if (this.s[this.pos] === "]") {
        this.pos++;
        return;
      }
      if (this.startsWith("<!--")) {
        this.comment();
        continue;
      }
      if (this.startsWith("<!ENTITY")) {
        this.pos += 8;
        this.skipBlanks();
        const name = this.name();
        this.skipBlanks();
        const q = this.s[this.pos];
        if (name !== undefined && (q === "'" || q === '"')) {
          const end = this.s.indexOf(q, this.pos + 1);
          if (end < 0) this.fail("EntityValue: \" or ' expected");
          if (!(name in this.entities)) this.entities[name] = this.s.slice(this.pos + 1, end);
          this.pos = end + 1;
        }
      }
      const gt = this.s.indexOf(">", this.pos);
      if (gt < 0) this.fail("xmlParseInternalSubset: error detected in Markup declaration", this.s.length);
      this.pos = gt + 1;
    }
  }

  /** Parses a reference after '&' has been consumed; returns its replacement text. */
  private reference(): string {
    if (this.s[this.pos] === "#") {
      this.pos++;
      let val = 0;
      let hex = false;
      if (this.s[this.pos] === "x") {
        hex = true;
        this.pos++;
      }
      let ok = true;
      while (this.pos < this.s.length && this.s[this.pos] !== ";") {
        const c = this.s[this.pos]!;
        const d = hex ? Number.parseInt(c, 16) : /[0-9]/.test(c) ? Number(c) : Number.NaN;
        if (Number.isNaN(d)) {
          ok = false;
          break;
        }
        val = Math.min(val * (hex ? 16 : 10) + d, 0x110000);
        this.pos++;
      }
      if (!ok || this.s[this.pos] !== ";") this.fail("xmlParseCharRef: invalid xmlChar value 0");
      this.pos++;
      if (val >= 0x110000) this.fail("xmlParseCharRef: character reference out of bounds");
      if (!isXmlCharCode(val)) this.fail(`xmlParseCharRef: invalid xmlChar value ${val}`);
      return String.fromCodePoint(val);
    }
    const name = this.name();
    if (name === undefined) this.fail("xmlParseEntityRef: no name");
    if (this.s[this.pos] !== ";") this.fail("EntityRef: expecting ';'");
    this.pos++;
    const v = PREDEFINED[name] ?? this.entities[name];
    if (v === undefined) this.fail(`Entity '${name}' not defined`);
    return v;
  }

  private attrValue(): string {
    const s = this.s;
    const q = s[this.pos];
    if (q !== "'" && q !== '"') this.fail(`AttValue: " or ' expected`);
    const qc = q.charCodeAt(0);
    this.pos++;
    // The usual value: plain characters up to the closing quote.
    const plain = runEnd(qc === 0x27 ? ATTR_PLAIN_SQ : ATTR_PLAIN_DQ, s, this.pos);
    if (s.charCodeAt(plain) === qc) {
      const v = valueAt(s, this.pos, plain);
      this.pos = plain + 1;
      return v;
    }
    let out = "";
    // Runs of plain characters are taken as one slice: building the value a character at a
    // time costs a string per character (and keeps long chains of them alive in definitions).
    let run = this.pos;
    this.pos = plain;
    for (;;) {
      if (this.pos >= s.length) this.fail(`AttValue: ' expected`);
      const n = s.charCodeAt(this.pos);
      if (n >= 0x20 && n !== qc && n !== 0x3c && n !== 0x26) {
        this.pos++;
        continue;
      }
      out += s.slice(run, this.pos);
      if (n === qc) {
        this.pos++;
        return out;
      }
      if (n === 0x3c) this.fail("Unescaped '<' not allowed in attributes values");
      if (n === 0x26) {
        this.pos++;
        out += this.reference();
        run = this.pos;
        continue;
      }
      if (n !== 9 && n !== 10 && n !== 13) this.fail("invalid character in attribute value");
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal whitespace becomes a space.
      out += " ";
      this.pos++;
      run = this.pos;
    }
  }

  /** Parses `<name attrs>` … `</name>` iteratively (no recursion on untrusted depth). */
  private element(): XmlElement {
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    for (;;) {
      // At '<' of a start tag.
      const tagStart = this.pos;
      this.pos++;
      const name = this.name();
      if (name === undefined) this.fail("StartTag: invalid element name");
      const el: XmlElement = { kind: "element", name, attrs: [], children: [], line: this.lineAt(tagStart) };
      this.attributes(el);
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else root = el;
      const end = this.s.charCodeAt(this.pos);
      if (end === 0x2f && this.s.charCodeAt(this.pos + 1) === 0x3e) {
        this.pos += 2;
      } else if (end === 0x3e) {
        this.pos++;
        if (stack.length >= MAX_DEPTH) {
          this.fail(`Excessive depth in document: ${MAX_DEPTH} use XML_PARSE_HUGE option`);
        }
        stack.push(el);
      } else {
        this.fail(`Couldn't find end of Start Tag ${name} line ${el.line}`);
      }
      // Content until the next start tag (or the end of the root).
      for (;;) {
        if (stack.length === 0) return root!;
        const top = stack[stack.length - 1]!;
        if (this.pos >= this.s.length) this.fail(`Premature end of data in tag ${top.name} line ${top.line}`);
        if (this.s.charCodeAt(this.pos) !== 0x3c) {
          this.text(top);
          continue;
        }
        // Dispatch on the character after '<': most markup is a start or an end tag.
        const next = this.s.charCodeAt(this.pos + 1);
        if (next === 0x2f) {
          this.endTag(top);
          stack.pop();
          continue;
        }
        if (next !== 0x21 && next !== 0x3f) break;
        if (this.startsWith("<!--")) {
          top.children.push({ kind: "comment", text: this.comment() });
          continue;
        }
        if (this.startsWith("<![CDATA[")) {
          this.cdata(top);
          continue;
        }
        if (this.startsWith("<?")) {
          this.pi();
          continue;
        }
        break;
      }
    }
  }

  private attributes(el: XmlElement): void {
    this.skipBlanks();
    for (;;) {
      const c = this.s[this.pos];
      if (c === ">" || (c === "/" && this.s[this.pos + 1] === ">")) return;
      if (c === undefined) return;
      const an = this.name();
      if (an === undefined) this.fail("error parsing attribute name");
      this.skipBlanks();
      if (this.s[this.pos] !== "=") this.fail(`Specification mandates value for attribute ${an}`);
      this.pos++;
      this.skipBlanks();
      const v = this.attrValue();
      const attrs = el.attrs;
      for (let i = 0; i < attrs.length; i++) if (attrs[i]![0] === an) this.fail(`Attribute ${an} redefined`);
      attrs.push([an, v]);
      const n = this.s[this.pos];
      if (n === ">" || (n === "/" && this.s[this.pos + 1] === ">")) return;
      if (this.skipBlanks() === 0) this.fail("attributes construct error");
    }
  }

  private endTag(top: XmlElement): void {
    this.pos += 2;
    const name = this.name() ?? "";
    this.skipBlanks();
    if (this.s[this.pos] !== ">") this.fail("expected '>'");
    this.pos++;
    if (name !== top.name) {
      this.fail(`Opening and ending tag mismatch: ${top.name} line ${top.line} and ${name}`);
    }
  }

  private text(top: XmlElement): void {
    const s = this.s;
    const start = this.pos;
    let out = "";
    // As in attrValue: plain runs are sliced, not built a character at a time.
    let run = this.pos;
    while (this.pos < s.length) {
      this.pos = runEnd(TEXT_PLAIN, s, this.pos);
      if (this.pos >= s.length) break;
      const n = s.charCodeAt(this.pos);
      if (n === 0x3c) break;
      if (n >= 0x20 && n !== 0x26 && n !== 0x5d && n !== 0xfffe && n !== 0xffff) {
        this.pos++;
        continue;
      }
      if (n === 0x26) {
        out += s.slice(run, this.pos);
        this.pos++;
        out += this.reference();
        run = this.pos;
        continue;
      }
      if (n === 0x5d && this.startsWith("]]>")) this.fail("Sequence ']]>' not allowed in content", start);
      if (n < 0x20 && n !== 9 && n !== 10 && n !== 13) this.fail(`PCDATA invalid Char value ${n}`);
      if (n === 0xfffe || n === 0xffff) this.fail(`PCDATA invalid Char value ${n}`);
      this.pos++;
    }
    // (no reference seen: the text is one run of the document)
    out = run === start ? valueAt(s, start, this.pos) : out + s.slice(run, this.pos);
    const last = top.children[top.children.length - 1];
    if (last && last.kind === "text" && !last.cdata) last.text += out;
    else top.children.push({ kind: "text", text: out } as XmlNode);
  }

  private cdata(top: XmlElement): void {
    this.pos += 9;
    const end = this.s.indexOf("]]>", this.pos);
    if (end < 0) {
      this.pos = this.s.length;
      this.fail("CData section not finished");
    }
    top.children.push({ kind: "text", text: this.s.slice(this.pos, end), cdata: true });
    this.pos = end + 3;
  }
}
