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

  /** yajl finds the end of its input in a last parse of one blank: its offset is then 1. */
  private eof(): never {
    throw new JsonSyntaxError("parse", "premature EOF", 1);
  }

  private ws(): void {
    while (this.pos < this.s.length && WS.has(this.s[this.pos]!)) this.pos++;
  }

  value(): JsonValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) this.eof();
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return { kind: "string", value: this.string() };
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const lit of ["true", "false", "null"] as const) {
      if (c !== lit[0]) continue;
      let i = 1;
      while (i < lit.length && this.s[this.pos + i] === lit[i]) i++;
      if (i < lit.length) {
        if (this.pos + i >= this.s.length) this.eof();
        this.lexical("invalid string in json text.", this.pos + i);
      }
      this.pos += lit.length;
      return { kind: "literal", text: lit };
    }
    // a token that cannot start a value, or no token at all (yajl has consumed it)
    if ("}],:".includes(c)) this.parse("unallowed token at this point in JSON text", this.pos + 1);
    return this.lexical("invalid char in json text.", this.pos + 1);
  }

  /** The end of the valid token at `at` (for yajl's parse errors), or a lexical error. */
  private tokenEnd(at: number): number {
    const c = this.s[at]!;
    if ("{}[],:".includes(c)) return at + 1;
    const save = this.pos;
    this.pos = at;
    this.value();
    const end = this.pos;
    this.pos = save;
    return end;
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
      if (c === undefined) this.eof();
      if (c !== '"') this.parse("invalid object key (must be a string)", this.tokenEnd(this.pos));
      const key = this.string();
      this.ws();
      if (this.s[this.pos] !== ":") {
        if (this.pos >= this.s.length) this.eof();
        this.parse("object key and value must be separated by a colon (':')", this.tokenEnd(this.pos));
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
      if (d === undefined) this.eof();
      // yajl reports this one at the last character of the offending token
      this.parse("after key and value, inside map, I expect ',' or '}'", this.tokenEnd(this.pos) - 1);
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
      if (d === undefined) this.eof();
      this.parse("after array element, I expect ',' or ']'", this.tokenEnd(this.pos));
    }
  }

  private string(): string {
    this.pos++;
    let out = "";
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined) this.eof();
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
        if (e === "u") {
          const hex = this.s.slice(this.pos + 2, this.pos + 6);
          const bad = /^[0-9a-fA-F]*/.exec(hex)![0].length;
          if (bad < 4) {
            if (this.pos + 2 + bad >= this.s.length) this.eof();
            this.lexical("invalid (non-hex) character occurs after '\\u' inside string.", this.pos + 2 + bad);
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.pos += 6;
          continue;
        }
        this.lexical("inside a string, '\\' occurs before a character which it may not.", this.pos + 1);
      }
      if (c.charCodeAt(0) < 0x20) this.lexical("invalid character inside string.", this.pos + 1);
      out += c;
      this.pos++;
    }
  }

  private number(): JsonValue {
    const rest = this.s.slice(this.pos);
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(rest);
    if (!m) this.lexical("malformed number, a digit is required after the minus sign.", this.pos + 1);
    const after = rest[m[0].length];
    if (after === "." && !/^\.\d/.test(rest.slice(m[0].length)) && m[2] === undefined && m[3] === undefined)
      this.lexical("malformed number, a digit is required after the decimal point.", this.pos + m[0].length + 1);
    if ((after === "e" || after === "E") && m[3] === undefined) {
      const e = /^[eE][+-]?/.exec(rest.slice(m[0].length))![0];
      this.lexical("malformed number, a digit is required after the exponent.", this.pos + m[0].length + e.length);
    }
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
