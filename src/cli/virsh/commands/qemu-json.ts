// JSON as virsh 9.0 reformats QEMU's replies (libvirt's virJSONValue over yajl): numbers keep the
// text they came with, member order is kept, and the output is yajl's — compact, or beautified
// with two-space indents where an empty object or array still opens and closes on lines of their
// own. Parse errors carry yajl's verbose message (the offending text with an arrow under it).

export type JsonValue =
  | { kind: "object"; entries: [string, JsonValue][] }
  | { kind: "array"; items: JsonValue[] }
  | { kind: "string"; value: string }
  | { kind: "number"; text: string }
  | { kind: "literal"; text: "true" | "false" | "null" };

export class JsonSyntaxError extends Error {
  constructor(
    /** "lexical" or "parse" (yajl's two kinds of error). */
    readonly type: "lexical" | "parse",
    readonly text: string,
    /** Bytes of input yajl had consumed when it stopped. */
    readonly offset: number,
  ) {
    super(`${type} error: ${text}`);
  }

  /** yajl_get_error(verbose): the message, then up to 30 characters either side of the error. */
  yajlMessage(input: string): string {
    const buf = Buffer.from(input);
    const off = this.offset;
    const spaces = off < 30 ? 40 - off : 10;
    const start = off >= 30 ? off - 30 : 0;
    const end = Math.min(off + 30, buf.length);
    let around = "";
    for (let i = start; i < end; i++) around += buf[i] === 0x0a || buf[i] === 0x0d ? " " : String.fromCharCode(buf[i]!);
    return `${this.type} error: ${this.text}\n${" ".repeat(spaces)}${around}\n                     (right here) ------^\n`;
  }
}

const WS = new Set([" ", "\t", "\n", "\r"]);

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  /** Byte offset of a character position (yajl counts bytes). */
  private bytes(i: number): number {
    return Buffer.byteLength(this.s.slice(0, i));
  }

  private lexical(msg: string, at: number): never {
    throw new JsonSyntaxError("lexical", msg, this.bytes(at));
  }

  private parse(msg: string, at: number): never {
    throw new JsonSyntaxError("parse", msg, this.bytes(at));
  }

  private ws(): void {
    while (this.pos < this.s.length && WS.has(this.s[this.pos]!)) this.pos++;
  }

  value(): JsonValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) this.parse("premature EOF", this.pos);
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return { kind: "string", value: this.string() };
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const lit of ["true", "false", "null"] as const) {
      if (this.s.startsWith(lit, this.pos)) {
        this.pos += lit.length;
        return { kind: "literal", text: lit };
      }
    }
    // yajl's lexer has consumed the bad character when it complains
    return this.lexical("invalid char in json text.", this.pos + 1);
  }

  private object(): JsonValue {
    this.pos++;
    const entries: [string, JsonValue][] = [];
    this.ws();
    if (this.s[this.pos] === "}") {
      this.pos++;
      return { kind: "object", entries };
    }
    for (;;) {
      this.ws();
      const c = this.s[this.pos];
      if (c === undefined) this.parse("premature EOF", this.pos);
      if (c !== '"') {
        if (c === "{" || c === "[" || c === "-" || (c >= "0" && c <= "9") || /^(true|false|null)/.test(this.s.slice(this.pos)))
          this.parse("invalid object key (must be a string)", this.pos + 1);
        this.lexical("invalid char in json text.", this.pos + 1);
      }
      const key = this.string();
      this.ws();
      if (this.s[this.pos] !== ":") {
        if (this.pos >= this.s.length) this.parse("premature EOF", this.pos);
        this.parse("object key and value must be separated by a colon (':')", this.pos + 1);
      }
      this.pos++;
      entries.push([key, this.value()]);
      this.ws();
      const d = this.s[this.pos];
      if (d === ",") {
        this.pos++;
        continue;
      }
      if (d === "}") {
        this.pos++;
        return { kind: "object", entries };
      }
      if (d === undefined) this.parse("premature EOF", this.pos);
      this.parse("after key and value, inside map, I expect ',' or '}'", this.pos + 1);
    }
  }

  private array(): JsonValue {
    this.pos++;
    const items: JsonValue[] = [];
    this.ws();
    if (this.s[this.pos] === "]") {
      this.pos++;
      return { kind: "array", items };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const d = this.s[this.pos];
      if (d === ",") {
        this.pos++;
        continue;
      }
      if (d === "]") {
        this.pos++;
        return { kind: "array", items };
      }
      if (d === undefined) this.parse("premature EOF", this.pos);
      this.parse("after array element, I expect ',' or ']'", this.pos + 1);
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos++;
    let out = "";
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined) this.parse("premature EOF", start);
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === "\\") {
        const e = this.s[this.pos + 1];
        const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.pos += 2;
          continue;
        }
        if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.pos + 2, this.pos + 6))) {
          out += String.fromCharCode(Number.parseInt(this.s.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
          continue;
        }
        this.lexical("inside a string, '\\' occurs before a character which it may not.", this.pos + 2);
      }
      if (c.charCodeAt(0) < 0x20) this.lexical("invalid character inside string.", this.pos + 1);
      out += c;
      this.pos++;
    }
  }

  private number(): JsonValue {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.pos));
    if (!m) this.lexical("malformed number, a digit is required after the minus sign.", this.pos + 1);
    this.pos += m[0].length;
    return { kind: "number", text: m[0] };
  }
}

/** Parses one JSON value (yajl: anything after it but blanks is an error). */
export function parseJson(s: string): JsonValue {
  const p = new Parser(s);
  const v = p.value();
  while (p.pos < s.length && WS.has(s[p.pos]!)) p.pos++;
  if (p.pos < s.length) throw new JsonSyntaxError("parse", "trailing garbage", Buffer.byteLength(s.slice(0, p.pos + 1)));
  return v;
}

/** yajl's string encoding: the usual escapes, other control characters as \u00XX. */
function encodeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (code < 0x20) out += `\\u00${code.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The value as yajl generates it: compact, or beautified (no final newline). */
export function formatJson(v: JsonValue, pretty: boolean, depth = 0): string {
  const ind = (d: number) => (pretty ? "  ".repeat(d) : "");
  const nl = pretty ? "\n" : "";
  switch (v.kind) {
    case "string":
      return encodeString(v.value);
    case "number":
    case "literal":
      return v.text;
    case "array": {
      const items = v.items.map((i) => ind(depth + 1) + formatJson(i, pretty, depth + 1));
      return `[${nl}${items.join(`,${nl}`)}${nl}${ind(depth)}]`;
    }
    case "object": {
      const sep = pretty ? ": " : ":";
      const items = v.entries.map(
        ([k, x]) => ind(depth + 1) + encodeString(k) + sep + formatJson(x, pretty, depth + 1),
      );
      return `{${nl}${items.join(`,${nl}`)}${nl}${ind(depth)}}`;
    }
  }
}
