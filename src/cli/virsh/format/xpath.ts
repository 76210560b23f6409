// virsh 9.0's --xpath/--wrap for the *-dumpxml commands (virshDumpXML): the document re-read
// without blank text nodes, an XPath 1.0 expression evaluated with the root element as context
// node, and each selected node printed as libxml2's xmlNodeDump does. Expressions whose value is
// not a node-set are libvirt's "Incorrect xpath"; syntax errors print libxml2's message on stderr
// and select nothing, as virsh does.
import { ErrorCode, ErrorDomain, VirError } from "../../../errors/index.js";
import { formatLibxml, parseXml, type XmlElement, type XmlNode } from "../../../xml/index.js";

interface XNode {
  kind: "root" | "element" | "attr" | "text" | "comment";
  /** Document order. */
  order: number;
  parent: XNode | null;
  children: XNode[];
  attrs: XNode[];
  name: string;
  value: string;
  el?: XmlElement;
  src?: XmlNode;
}

type Value = XNode[] | number | string | boolean;

/** An XPath failure libxml2 reports on stderr ("XPath error : …"); the selection is empty. */
class XPathSyntax extends Error {
  /** Offset in the expression libxml2 points at; at the end it shows no caret line. */
  pos = -1;
}

/** xmlKeepBlanksDefault(0): whitespace-only text between elements is dropped. */
function stripBlanks(e: XmlElement): XmlElement {
  const hasElements = e.children.some((c) => c.kind === "element");
  const children = e.children
    .filter((c) => !(hasElements && c.kind === "text" && !c.cdata && /^[ \t\r\n]*$/.test(c.text)))
    .map((c) => (c.kind === "element" ? stripBlanks(c) : c));
  return { ...e, children };
}

function buildTree(root: XmlElement): XNode {
  let order = 0;
  const doc: XNode = {
    kind: "root",
    order: order++,
    parent: null,
    children: [],
    attrs: [],
    name: "",
    value: "",
  };
  const walk = (e: XmlElement, parent: XNode): XNode => {
    const n: XNode = {
      kind: "element",
      order: order++,
      parent,
      children: [],
      attrs: [],
      name: e.name,
      value: "",
      el: e,
    };
    for (const [k, v] of e.attrs) {
      if (k === "xmlns" || k.startsWith("xmlns:")) continue;
      n.attrs.push({ kind: "attr", order: order++, parent: n, children: [], attrs: [], name: k, value: v });
    }
    for (const c of e.children) {
      if (c.kind === "element") n.children.push(walk(c, n));
      else
        n.children.push({
          kind: c.kind,
          order: order++,
          parent: n,
          children: [],
          attrs: [],
          name: "",
          value: c.text,
          src: c,
        });
    }
    return n;
  };
  doc.children.push(walk(root, doc));
  return doc;
}

function stringValue(n: XNode): string {
  if (n.kind === "attr" || n.kind === "text" || n.kind === "comment") return n.value;
  let s = "";
  for (const c of n.children) if (c.kind !== "comment") s += c.kind === "text" ? c.value : stringValue(c);
  return s;
}

// ---- tokens ----

type Tok = (
  | { t: "num"; v: number }
  | { t: "str"; v: string }
  | { t: "name"; v: string }
  | { t: "op"; v: string }
) & { at: number };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const at = i;
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (["//", "::", "..", "!=", "<=", ">="].includes(two)) {
      out.push({ t: "op", v: two, at });
      i += 2;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) throw new XPathSyntax("Unfinished literal");
      out.push({ t: "str", v: s.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    const num = /^(\d+(\.\d*)?|\.\d+)/.exec(s.slice(i));
    if (num) {
      out.push({ t: "num", v: Number(num[0]), at });
      i += num[0].length;
      continue;
    }
    if ("/()[]@,|+-=<>*.$".includes(c)) {
      out.push({ t: "op", v: c, at });
      i++;
      continue;
    }
    const name = /^[A-Za-z_][\w.-]*(:([A-Za-z_][\w.-]*|\*))?/.exec(s.slice(i));
    if (!name) {
      const e = new XPathSyntax("Invalid expression");
      e.pos = i;
      throw e;
    }
    out.push({ t: "name", v: name[0], at });
    i += name[0].length;
  }
  return out;
}

// ---- parser to closures ----

interface Ctx {
  node: XNode;
  pos: number;
  size: number;
}
type Ev = (c: Ctx) => Value;

const AXES = new Set([
  "child",
  "descendant",
  "descendant-or-self",
  "self",
  "parent",
  "attribute",
  "ancestor",
  "ancestor-or-self",
  "following-sibling",
  "preceding-sibling",
  "following",
  "preceding",
]);
const NODE_TYPES = new Set(["node", "text", "comment", "processing-instruction"]);
const FUNCTIONS = new Set(
  "last position count name local-name string concat contains starts-with string-length normalize-space not true false boolean number sum floor ceiling round substring-before substring-after".split(
    " ",
  ),
);

function num(v: Value): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  const s = (typeof v === "string" ? v : v.length ? stringValue(v[0]!) : "").trim();
  return /^-?(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : Number.NaN;
}
function str(v: Value): string {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Number.isNaN(v) ? "NaN" : String(v);
  return v.length ? stringValue(v[0]!) : "";
}
function bool(v: Value): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string") return v.length > 0;
  return v.length > 0;
}
function nodes(v: Value): XNode[] {
  if (!Array.isArray(v)) throw new XPathSyntax("Invalid type");
  return v;
}
function sortUnique(a: XNode[]): XNode[] {
  return [...new Set(a)].sort((x, y) => x.order - y.order);
}

function axisNodes(axis: string, n: XNode): XNode[] {
  const desc = (x: XNode, out: XNode[]) => {
    for (const c of x.children) {
      out.push(c);
      desc(c, out);
    }
    return out;
  };
  const anc = (x: XNode) => {
    const out: XNode[] = [];
    for (let p = x.parent; p; p = p.parent) out.push(p);
    return out;
  };
  const sib = () => (n.parent && n.kind !== "attr" ? n.parent.children : []);
  switch (axis) {
    case "child":
      return n.children;
    case "descendant":
      return desc(n, []);
    case "descendant-or-self":
      return desc(n, [n]);
    case "self":
      return [n];
    case "parent":
      return n.parent ? [n.parent] : [];
    case "attribute":
      return n.attrs;
    case "ancestor":
      return anc(n);
    case "ancestor-or-self":
      return [n, ...anc(n)];
    case "following-sibling":
      return sib().slice(sib().indexOf(n) + 1);
    case "preceding-sibling":
      return sib().slice(0, sib().indexOf(n)).reverse();
    default: {
      // following / preceding: everything after / before in document order, minus ancestry
      const root = anc(n).pop() ?? n;
      const all = desc(root, []);
      const a = new Set(anc(n));
      const after = all.filter((x) => x.order > n.order && !desc(n, []).includes(x));
      return axis === "following" ? after : all.filter((x) => x.order < n.order && !a.has(x)).reverse();
    }
  }
}

function parse(toks: Tok[], length: number): Ev {
  let i = 0;
  /** An "Invalid expression" at the current token (libxml2 points there unless at the end). */
  const invalid = () => {
    const e = new XPathSyntax("Invalid expression");
    const t = toks[i];
    // a path separator where a step should be is reported at the end, as libxml2 reads on
    e.pos = t && !(t.t === "op" && (t.v === "/" || t.v === "//")) ? (t.at ?? length) : length;
    return e;
  };
  const peek = (k = 0) => toks[i + k];
  const isOp = (v: string, k = 0) => {
    const t = peek(k);
    return t?.t === "op" && t.v === v;
  };
  const expect = (v: string) => {
    if (!isOp(v)) throw invalid();
    i++;
  };

  const binary = (next: () => Ev, ops: string[], named = false): (() => Ev) => {
    return () => {
      let left = next();
      for (;;) {
        const t = peek();
        const op =
          t && (named ? t.t === "name" : t.t === "op") && ops.includes(String(t.v)) ? String(t.v) : null;
        if (!op) return left;
        i++;
        const l = left;
        const r = next();
        left = (c) => apply(op, l(c), r(c));
      }
    };
  };

  const compare = (op: string, a: Value, b: Value): boolean => {
    const cmp = (x: Value, y: Value): boolean => {
      if (op === "=" || op === "!=") {
        if (typeof x === "boolean" || typeof y === "boolean") return (bool(x) === bool(y)) === (op === "=");
        if (typeof x === "number" || typeof y === "number") return (num(x) === num(y)) === (op === "=");
        return (str(x) === str(y)) === (op === "=");
      }
      const p = num(x);
      const q = num(y);
      return op === "<" ? p < q : op === ">" ? p > q : op === "<=" ? p <= q : p >= q;
    };
    if (Array.isArray(a) && Array.isArray(b))
      return a.some((x) => b.some((y) => cmp(stringValue(x), stringValue(y))));
    if (Array.isArray(a)) return a.some((x) => cmp(typeof b === "boolean" ? bool(a) : stringValue(x), b));
    if (Array.isArray(b)) return b.some((y) => cmp(a, typeof a === "boolean" ? bool(b) : stringValue(y)));
    return cmp(a, b);
  };

  function apply(op: string, a: Value, b: Value): Value {
    switch (op) {
      case "or":
        return bool(a) || bool(b);
      case "and":
        return bool(a) && bool(b);
      case "=":
      case "!=":
      case "<":
      case ">":
      case "<=":
      case ">=":
        return compare(op, a, b);
      case "+":
        return num(a) + num(b);
      case "-":
        return num(a) - num(b);
      case "*":
        return num(a) * num(b);
      case "div":
        return num(a) / num(b);
      case "mod":
        return num(a) % num(b);
      default:
        return sortUnique([...nodes(a), ...nodes(b)]);
    }
  }

  const predicates = (): Ev[] => {
    const out: Ev[] = [];
    while (isOp("[")) {
      i++;
      out.push(expr());
      expect("]");
    }
    return out;
  };
  const filter = (set: XNode[], preds: Ev[], reverse = false): XNode[] => {
    let cur = set;
    for (const p of preds) {
      cur = cur.filter((node, k) => {
        const v = p({ node, pos: k + 1, size: cur.length });
        return typeof v === "number" ? v === k + 1 : bool(v);
      });
    }
    return reverse ? cur : cur;
  };

  const step = (): ((n: XNode) => XNode[]) => {
    if (isOp(".")) {
      i++;
      return (n) => [n];
    }
    if (isOp("..")) {
      i++;
      return (n) => (n.parent ? [n.parent] : []);
    }
    let axis = "child";
    if (isOp("@")) {
      axis = "attribute";
      i++;
    } else if (peek()?.t === "name" && isOp("::", 1)) {
      axis = (peek() as { v: string }).v;
      if (!AXES.has(axis)) throw invalid();
      i += 2;
    }
    const t = peek();
    let test: (n: XNode) => boolean;
    if (t?.t === "op" && t.v === "*") {
      i++;
      test = (n) => (axis === "attribute" ? n.kind === "attr" : n.kind === "element");
    } else if (t?.t === "name" && NODE_TYPES.has(t.v) && isOp("(", 1)) {
      i += 2;
      if (t.v === "processing-instruction" && peek()?.t === "str") i++;
      expect(")");
      test =
        t.v === "node"
          ? () => true
          : t.v === "text"
            ? (n) => n.kind === "text"
            : t.v === "comment"
              ? (n) => n.kind === "comment"
              : () => false;
    } else if (t?.t === "name") {
      i++;
      if (t.v.includes(":")) throw new XPathSyntax("Undefined namespace prefix");
      const want = axis === "attribute" ? "attr" : "element";
      test = (n) => n.kind === want && n.name === t.v;
    } else throw invalid();
    const preds = predicates();
    return (n) => filter(axisNodes(axis, n).filter(test), preds);
  };

  const relPath = (start: (c: Ctx) => XNode[]): ((c: Ctx) => XNode[]) => {
    let f = start;
    let first = true;
    for (;;) {
      if (!first) {
        if (isOp("/")) i++;
        else if (isOp("//")) {
          i++;
          const g = f;
          f = (c) => sortUnique(g(c).flatMap((n) => axisNodes("descendant-or-self", n)));
        } else return f;
      }
      first = false;
      const s = step();
      const g = f;
      f = (c) => sortUnique(g(c).flatMap((n) => s(n)));
    }
  };

  const startsStep = () => {
    const t = peek();
    if (!t) return false;
    if (t.t === "name") return !(isOp("(", 1) && !NODE_TYPES.has(t.v));
    return t.t === "op" && ["@", ".", "..", "*"].includes(t.v);
  };

  const rootOf = (n: XNode) => {
    let r = n;
    while (r.parent) r = r.parent;
    return r;
  };

  function pathExpr(): Ev {
    if (isOp("/")) {
      i++;
      if (!startsStep()) return (c) => [rootOf(c.node)];
      return relPath((c) => [rootOf(c.node)]);
    }
    if (isOp("//")) {
      i++;
      return relPath((c) => axisNodes("descendant-or-self", rootOf(c.node)));
    }
    if (startsStep()) return relPath((c) => [c.node]);
    // filter expression
    const prim = primary();
    const preds = predicates();
    let f: Ev = preds.length ? (c) => filter(nodes(prim(c)), preds) : prim;
    if (isOp("/") || isOp("//")) {
      const dbl = isOp("//");
      i++;
      const base = f;
      const start = (c: Ctx) => {
        const set = nodes(base(c));
        return dbl ? sortUnique(set.flatMap((n) => axisNodes("descendant-or-self", n))) : set;
      };
      const rest = relPath(start);
      f = rest;
    }
    return f;
  }

  function primary(): Ev {
    const t = peek();
    if (!t) throw invalid();
    if (t.t === "num") {
      i++;
      return () => t.v;
    }
    if (t.t === "str") {
      i++;
      return () => t.v;
    }
    if (t.t === "op" && t.v === "(") {
      i++;
      const e = expr();
      expect(")");
      return e;
    }
    if (t.t === "op" && t.v === "$") throw new XPathSyntax("Undefined variable");
    if (t.t === "name" && isOp("(", 1)) {
      // libxml2 looks the function up before reading its arguments
      if (!FUNCTIONS.has(t.v)) throw new XPathSyntax(`\u0000${t.v}`);
      i += 2;
      const args: Ev[] = [];
      if (!isOp(")")) {
        args.push(expr());
        while (isOp(",")) {
          i++;
          args.push(expr());
        }
      }
      expect(")");
      return func(t.v, args);
    }
    throw invalid();
  }

  function func(name: string, args: Ev[]): Ev {
    const arity = (lo: number, hi = lo) => {
      if (args.length < lo || args.length > hi) throw new XPathSyntax("Invalid number of arguments");
    };
    const a = (k: number, c: Ctx) => args[k]!(c);
    const ctxOr = (c: Ctx): XNode[] => (args.length ? nodes(a(0, c)) : [c.node]);
    switch (name) {
      case "last":
        arity(0);
        return (c) => c.size;
      case "position":
        arity(0);
        return (c) => c.pos;
      case "count":
        arity(1);
        return (c) => nodes(a(0, c)).length;
      case "name":
      case "local-name":
        arity(0, 1);
        return (c) => {
          const n = ctxOr(c)[0];
          const nm = n && (n.kind === "element" || n.kind === "attr") ? n.name : "";
          return name === "local-name" ? nm.slice(nm.indexOf(":") + 1) : nm;
        };
      case "string":
        arity(0, 1);
        return (c) => (args.length ? str(a(0, c)) : stringValue(c.node));
      case "concat":
        if (args.length < 2) throw new XPathSyntax("Invalid number of arguments");
        return (c) => args.map((f) => str(f(c))).join("");
      case "contains":
        arity(2);
        return (c) => str(a(0, c)).includes(str(a(1, c)));
      case "starts-with":
        arity(2);
        return (c) => str(a(0, c)).startsWith(str(a(1, c)));
      case "string-length":
        arity(0, 1);
        return (c) => [...(args.length ? str(a(0, c)) : stringValue(c.node))].length;
      case "normalize-space":
        arity(0, 1);
        return (c) => (args.length ? str(a(0, c)) : stringValue(c.node)).trim().replace(/\s+/g, " ");
      case "not":
        arity(1);
        return (c) => !bool(a(0, c));
      case "true":
      case "false":
        arity(0);
        return () => name === "true";
      case "boolean":
        arity(1);
        return (c) => bool(a(0, c));
      case "number":
        arity(0, 1);
        return (c) => num(args.length ? a(0, c) : stringValue(c.node));
      case "sum":
        arity(1);
        return (c) => nodes(a(0, c)).reduce((s, n) => s + num(stringValue(n)), 0);
      case "floor":
      case "ceiling":
      case "round":
        arity(1);
        return (c) => Math[name === "ceiling" ? "ceil" : name](num(a(0, c)));
      case "substring-before":
      case "substring-after":
        arity(2);
        return (c) => {
          const s = str(a(0, c));
          const k = s.indexOf(str(a(1, c)));
          if (k < 0) return "";
          return name === "substring-before" ? s.slice(0, k) : s.slice(k + str(a(1, c)).length);
        };
      default:
        throw new XPathSyntax(`\u0000${name}`);
    }
  }

  function unary(): Ev {
    if (isOp("-")) {
      i++;
      const e = unary();
      return (c) => -num(e(c));
    }
    return union();
  }
  const union = binary(pathExpr, ["|"]);
  const multAll: () => Ev = () => {
    // '*' after an operand is multiplication; div/mod are names there
    let left = unary();
    for (;;) {
      const t = peek();
      if (t && ((t.t === "op" && t.v === "*") || (t.t === "name" && (t.v === "div" || t.v === "mod")))) {
        i++;
        const l = left;
        const r = unary();
        const op = t.v;
        left = (c) => apply(op, l(c), r(c));
      } else return left;
    }
  };
  const add = binary(multAll, ["+", "-"]);
  const rel = binary(add, ["<", ">", "<=", ">="]);
  const eq = binary(rel, ["=", "!="]);
  const and = binary(eq, ["and"], true);
  const or = binary(and, ["or"], true);
  function expr(): Ev {
    return or();
  }

  const e = expr();
  if (i < toks.length) throw invalid();
  return e;
}

function dumpNode(n: XNode): string {
  switch (n.kind) {
    case "attr":
      return ` ${n.name}="${n.value.replace(/[&<>"\n\r\t]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;" })[c] ?? c)}"`;
    case "text":
      return n.value.replace(
        /[&<>\r]/g,
        (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;" })[c] ?? c,
      );
    case "comment":
      return `<!--${n.value}-->`;
    case "root":
      return `<?xml version="1.0" encoding="UTF-8"?>\n${formatLibxml(n.children[0]!.el!, 0)}\n`;
    default:
      return formatLibxml(n.el!, 0);
  }
}

/**
 * virshDumpXML: the text itself without an expression; otherwise each selected node (or, with
 * `wrap`, one <nodes> element holding copies of them) followed by a newline.
 */
export function dumpXPath(
  xml: string,
  xpath: string | undefined,
  wrap: boolean,
  err: (s: string) => void,
): string {
  if (xpath === undefined) return xml;
  const doc = buildTree(stripBlanks(parseXml(xml)));
  let selected: XNode[] = [];
  try {
    const v = parse(tokenize(xpath), xpath.length)({ node: doc.children[0]!, pos: 1, size: 1 });
    if (!Array.isArray(v))
      throw new VirError({
        code: ErrorCode.INTERNAL_ERROR,
        domain: ErrorDomain.XML,
        message: `internal error: Incorrect xpath '${xpath}'`,
      });
    selected = v;
  } catch (e) {
    if (!(e instanceof XPathSyntax)) throw e;
    if (e.message.startsWith("\u0000"))
      err(
        `xmlXPathCompOpEval: function ${e.message.slice(1)} not found\nXPath error : Unregistered function\n`,
      );
    else {
      err(`XPath error : ${e.message}\n`);
      if (e.pos >= 0 && e.pos < xpath.length) err(`${xpath}\n${" ".repeat(e.pos)}^\n`);
    }
  }
  if (!wrap) return selected.map((n) => `${dumpNode(n)}\n`).join("");
  // xmlAddChild: an attribute replaces one of the same name and goes last
  const wrapper: XmlElement = { kind: "element", name: "nodes", attrs: [], children: [], line: 0 };
  for (const n of selected) {
    if (n.kind === "attr") {
      wrapper.attrs = wrapper.attrs.filter(([k]) => k !== n.name);
      wrapper.attrs.push([n.name, n.value]);
    } else if (n.kind === "element") wrapper.children.push(n.el!);
    else if (n.kind === "text") {
      // adjacent text merges into one node
      const last = wrapper.children.at(-1);
      if (last?.kind === "text")
        wrapper.children[wrapper.children.length - 1] = { kind: "text", text: last.text + n.value };
      else wrapper.children.push({ kind: "text", text: n.value });
    } else if (n.kind === "comment") wrapper.children.push({ kind: "comment", text: n.value });
    else wrapper.children.push(n.children[0]!.el!);
  }
  return `${formatLibxml(wrapper, 0)}\n`;
}
