#!/usr/bin/python3
# Generates src/conf/domain/attr-checks.ts: which attributes libvirt 9.0 validates, how, and with
# which error. Facts come from two places on this machine:
#  1. REAL libvirt (test:///default): every attribute of every valid corpus document is set to a
#     bogus value in turn and the error libvirt reports is recorded, keyed parent/element@attr;
#  2. libvirt's RelaxNG grammar (/usr/share/libvirt/schemas) for the allowed values of enumerations.
# Run: /usr/bin/python3 scripts/oracle/domain-attr-checks.py
import collections
import glob
import json
import os
import re
import sys
import xml.dom.minidom as md
import xml.etree.ElementTree as ET

import libvirt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
CORPUS = os.path.join(ROOT, "tests", "data", "domain-xml2xml")
OUT = os.path.join(ROOT, "src", "conf", "domain", "attr-checks.ts")
SCHEMAS = "/usr/share/libvirt/schemas/"
BOGUS = "bogus"
NS = "{http://relaxng.org/ns/structure/1.0}"

# Enumerations libvirt checks that the grammar does not spell out where the element is reached.
EXTRA_ENUMS = {
    "interface/source@mode": ["bind", "connect", "vepa", "bridge", "private", "passthrough", "server", "client"],
    # virStorageNetProtocol has ssh; the grammar's network-disk protocols leave it out.
    "disk/source@protocol": ["ssh"],
    # a secret's type is any virSecretUsageType; the grammar lists only ceph and iscsi.
    "auth/secret@type": ["none", "volume", "ceph", "iscsi", "tls", "vtpm"],
}
# Required only in some contexts the corpus does not show (e.g. a unix redirdev has a path, not a
# host; a secret may name a uuid instead of a usage; bandwidth may give only a floor).
CONTEXT_DEPENDENT = {
    "numatune/memory",
    "redirdev/source",
    "smartcard/source",
    "parallel/source",
    "source/host",
    "auth/secret",
    "encryption/secret",
    "model/acceleration",
    "bandwidth/inbound",
    "bandwidth/outbound",
}
# Children required only in some contexts (a vhostuser/udp/file device has no <local>, ...).
CONTEXT_DEPENDENT_CHILDREN = {"/domain", "domain/devices", "domain/os", "domain/cpu", "domain/clock", "memory/source"}
# libvirt 9.0 answers differently from run to run for NUMA distance siblings (its messages even
# come out truncated): no rule is derived for them.
UNSTABLE = ("distances/sibling",)
# Character-device style <source mode=...> wherever the grammar leaves it open.
CHR_SOURCE_MODES = ["bind", "connect"]


def _quiet(*_args):
    pass


def isolated(fn, *args):
    """Runs fn(*args) in a forked child and returns its JSON-able result, or None when the
    child dies: some mutated documents crash libvirt 9.0's test driver (heap corruption)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            data = json.dumps(fn(*args)).encode()
        except Exception:
            data = b"null"
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None
    return json.loads(data)


_CONN = []


def connection():
    """A fresh test:///default connection (so one document's failures cannot affect the next);
    the error handler is registered once (registering it repeatedly crashes python-libvirt)."""
    if not _CONN:
        libvirt.registerErrorHandler(_quiet, None)
        _CONN.append(True)
    return libvirt.open("test:///default")


def explore(drop=False, form=None):
    """libvirt's verdict per parent/element@attr when the attribute is set bogus (or dropped, or,
    with form, a decimal value rewritten in another spelling: "hex", "lead" or "trail" space)."""
    res = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.xml"))):
        if path.endswith(".out.xml") or "-rev" in path or "distances" in path or "/enum-" in path:
            continue  # (libvirt's answers for mangled NUMA distances are not stable)
        part = None
        for _ in range(8):  # the crash is intermittent: retry the document
            part = isolated(explore_one, path, drop, form)
            if part is not None:
                break
        else:
            print(f"warning: libvirt kept crashing on variants of {path}", file=sys.stderr)
        for k, v in (part or {}).items():
            res[k].extend(None if x is None else tuple(x) for x in v)
    return res


def ename(n):
    """Element key part: an <address> is told apart by its type (pci takes hex, drive does not)."""
    if n.tagName == "address" and n.getAttribute("type"):
        return f"address[{n.getAttribute('type')}]"
    return n.tagName


def respell(value, form):
    if not value.isdigit():
        return None
    return {"hex": hex(int(value)), "lead": " " + value, "trail": value + " "}[form]


def explore_one(path, drop, form=None):
    res = collections.defaultdict(list)
    if True:
        conn = connection()
        try:
            doc = md.parse(path)
        except Exception:
            return {}
        slots = []

        def walk(n, parent):
            if n.tagName == "metadata" or ":" in n.tagName:
                return
            for a in list(n.attributes.keys()):
                if not a.startswith("xmlns"):
                    slots.append((n, parent, a))
            for k in n.childNodes:
                if k.nodeType == k.ELEMENT_NODE:
                    walk(k, n.tagName)

        walk(doc.documentElement, "")
        for n, parent, a in slots:
            old = n.getAttribute(a)
            if form:
                new = respell(old, form)
                if new is None:
                    continue
                n.setAttribute(a, new)
            elif drop:
                n.removeAttribute(a)
            else:
                n.setAttribute(a, BOGUS)
            xml = doc.documentElement.toxml()
            n.setAttribute(a, old)
            try:
                conn.defineXML(xml).undefine()
                r = None
            except libvirt.libvirtError as e:
                r = (e.get_error_code(), e.get_error_domain(), e.get_error_message())
            res[f"{parent}/{ename(n) if a != 'type' else n.tagName}@{a}"].append(r)
    return res


def explore_text():
    """libvirt's verdict per parent/element when a numeric text-only element says 'bogus'."""
    res = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.xml"))):
        if path.endswith(".out.xml") or "-rev" in path or "distances" in path or "/enum-" in path:
            continue
        part = None
        for _ in range(8):
            part = isolated(explore_text_one, path)
            if part is not None:
                break
        for k, v in (part or {}).items():
            res[k].extend(None if x is None else tuple(x) for x in v)
    return res


def explore_text_one(path):
    res = collections.defaultdict(list)
    conn = connection()
    try:
        doc = md.parse(path)
    except Exception:
        return {}
    slots = []

    def walk(n, parent):
        if n.tagName == "metadata" or ":" in n.tagName:
            return
        kids = [k for k in n.childNodes if k.nodeType == k.ELEMENT_NODE]
        text = "".join(k.data for k in n.childNodes if k.nodeType == k.TEXT_NODE)
        if not kids and text.strip().isdigit():
            slots.append((n, parent))
        for k in kids:
            walk(k, n.tagName)

    walk(doc.documentElement, "")
    for n, parent in slots:
        old = [k for k in n.childNodes]
        for k in old:
            n.removeChild(k)
        n.appendChild(doc.createTextNode(BOGUS))
        xml = doc.documentElement.toxml()
        n.removeChild(n.firstChild)
        for k in old:
            n.appendChild(k)
        try:
            conn.defineXML(xml).undefine()
            r = None
        except libvirt.libvirtError as e:
            r = (e.get_error_code(), e.get_error_domain(), e.get_error_message())
        res[f"{parent}/{n.tagName}"].append(r)
    return res


def explore_children():
    """libvirt's verdict per grandparent/parent>child when that child element is left out."""
    res = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.xml"))):
        if path.endswith(".out.xml") or "-rev" in path or "distances" in path or "/enum-" in path:
            continue  # (libvirt's answers for mangled NUMA distances are not stable)
        part = None
        for _ in range(8):
            part = isolated(explore_children_one, path)
            if part is not None:
                break
        else:
            print(f"warning: libvirt kept crashing on variants of {path}", file=sys.stderr)
        for k, v in (part or {}).items():
            res[k].extend(None if x is None else tuple(x) for x in v)
    return res


def explore_children_one(path):
    res = collections.defaultdict(list)
    if True:
        conn = connection()
        try:
            doc = md.parse(path)
        except Exception:
            return {}
        slots = []

        def walk(n, parent):
            if n.tagName == "metadata" or ":" in n.tagName:
                return
            for k in n.childNodes:
                if k.nodeType == k.ELEMENT_NODE:
                    slots.append((n, parent, k))
                    walk(k, n.tagName)

        walk(doc.documentElement, "")
        for n, parent, k in slots:
            if os.environ.get("TRACE"):
                print(path, parent, n.tagName, k.tagName, file=sys.stderr, flush=True)
            nxt = k.nextSibling
            n.removeChild(k)
            xml = doc.documentElement.toxml()
            n.insertBefore(k, nxt)
            try:
                conn.defineXML(xml).undefine()
                r = None
            except libvirt.libvirtError as e:
                r = (e.get_error_code(), e.get_error_domain(), e.get_error_message())
            res[f"{parent}/{n.tagName}>{k.tagName}"].append(r)
    return res


def grammar_enums():
    defines = {}

    def load(fn, seen=set()):
        if fn in seen:
            return
        seen.add(fn)
        root = ET.parse(SCHEMAS + fn).getroot()
        for inc in root.iter(NS + "include"):
            load(inc.get("href"))
        for d in root.iter(NS + "define"):
            defines.setdefault(d.get("name"), []).append(d)

    load("domain.rng")

    def values_of(node):
        vals = []

        def rec(n, seen):
            t = n.tag[len(NS) :]
            if t == "value":
                vals.append((n.text or "").strip())
                return True
            if t in ("choice", "group", "optional"):
                return all(rec(c, seen) for c in n)
            if t == "ref" and n.get("name") not in seen:
                return all(rec(c, seen | {n.get("name")}) for d in defines.get(n.get("name"), []) for c in d)
            return False

        ok = len(list(node)) > 0 and all(rec(c, frozenset()) for c in node)
        return vals if ok and vals else None

    table = collections.defaultdict(set)
    visited = set()

    def walk(node, parent, elem, stack):
        t = node.tag[len(NS) :]
        if t == "element":
            name = node.get("name")
            if name is None or (elem, name, id(node)) in visited:
                return
            visited.add((elem, name, id(node)))
            for c in node:
                walk(c, elem, name, stack)
        elif t == "attribute":
            if node.get("name") is None:
                return
            key = f"{parent}/{elem}@{node.get('name')}"
            v = values_of(node)
            table[key].update(v if v is not None else ["*"])
        elif t == "ref":
            k = (elem, parent, node.get("name"))
            if k in stack:
                return
            for d in defines.get(node.get("name"), []):
                for c in d:
                    walk(c, parent, elem, stack | {k})
        else:
            for c in node:
                walk(c, parent, elem, stack)

    for d in defines["domain"]:
        for c in d:
            walk(c, "", "", frozenset())
    return {k: sorted(v) for k, v in table.items() if "*" not in v}


def classify(tmpl):
    """Kind of check implied by libvirt's message for a bogus value."""
    if tmpl.endswith("Expected non-negative integer value"):
        return "uint"
    if tmpl.endswith("Expected integer value"):
        return "int"
    if "unknown suffix" in tmpl:
        return "unit"
    if "Failed to parse bitmap" in tmpl:
        return "bitmap"
    if "mac address" in tmpl:
        return "mac"
    if "uuid" in tmpl:
        return "uuid"
    if "address '%v' in <ip>" in tmpl.lower() or "Bad network address" in tmpl or "Bad gateway address" in tmpl:
        return "ip"
    numeric = [
        "Invalid port number",
        "could not convert bandwidth",
        "malformed mtu size",
        "invalid RNG rate",
        "Cannot parse <address>",
        "memory slot count",
        "cannot parse queue size",
        "cannot parse usage",
        "for element or attribute",
        "cannot parse video",
        "cannot parse vnc port",
        "Invalid prefix value",
        "Cannot parse USB device version",
        "coalesce parameter",
        "failed to parse port number",
    ]
    if any(s in tmpl for s in numeric):
        return "num"
    return "enum"


def main():
    observed = explore()
    dropped = explore(drop=True)
    spellings = {f: explore(form=f) for f in ("hex", "lead", "trail")}
    required = {}
    for key, rs in sorted(dropped.items()):
        if key.startswith(UNSTABLE):
            continue
        msgs = {r for r in rs}
        if None in msgs or len(msgs) != 1:
            continue  # optional somewhere, or the complaint depends on context
        code, dom, msg = msgs.pop()
        path, attr = key.split("@")
        required.setdefault(path, []).append([attr, code, dom, msg])
    # A rule survives only if no document libvirt accepted lacks the attribute: that filters out
    # attributes required only in some contexts (clock start for offset='absolute', ...).
    # (libvirt's own outputs count as accepted documents too.)
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.xml"))):
        try:
            doc = md.parse(path)
        except Exception:
            continue

        def walk(n, parent):
            if n.tagName == "metadata" or ":" in n.tagName:
                return
            rules = required.get(f"{parent}/{n.tagName}")
            if rules:
                required[f"{parent}/{n.tagName}"] = [r for r in rules if n.hasAttribute(r[0])]
            for k in n.childNodes:
                if k.nodeType == k.ELEMENT_NODE:
                    walk(k, n.tagName)

        walk(doc.documentElement, "")
    required = {k: v for k, v in required.items() if v and k not in CONTEXT_DEPENDENT}
    children = {}
    for key, rs in sorted(explore_children().items()):
        msgs = set(rs)
        if None in msgs or len(msgs) != 1:
            continue
        code, dom, msg = msgs.pop()
        if "%" in msg or msg.startswith("XML error: Invalid value"):
            continue
        path, name = key.split(">")
        children.setdefault(path, []).append([name, code, dom, msg])
    # Same filter as for attributes: an accepted document without the child voids the rule.
    # (libvirt's own outputs count as accepted documents too.)
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.xml"))):
        try:
            doc = md.parse(path)
        except Exception:
            continue

        def walk2(n, parent):
            if n.tagName == "metadata" or ":" in n.tagName:
                return
            key = f"{parent}/{n.tagName}"
            if key in children:
                names = {k.tagName for k in n.childNodes if k.nodeType == k.ELEMENT_NODE}
                children[key] = [r for r in children[key] if r[0] in names]
            for k in n.childNodes:
                if k.nodeType == k.ELEMENT_NODE:
                    walk2(k, n.tagName)

        walk2(doc.documentElement, "")
    children = {k: v for k, v in children.items() if v and k not in CONTEXT_DEPENDENT_CHILDREN}
    enums = grammar_enums()
    out = {}
    for key, rs in sorted(observed.items()):
        if key.startswith(UNSTABLE) or any(r is None for r in rs):
            continue  # libvirt accepted the bogus value somewhere: free text or context-dependent
        tmpls = {(c, d, m.replace(BOGUS, "%v")) for c, d, m in rs}
        if len(tmpls) != 1:
            continue
        code, dom, tmpl = tmpls.pop()
        if "%v" not in tmpl and classify(tmpl) == "enum":
            continue
        kind = classify(tmpl)
        entry = {"kind": kind, "code": code, "domain": dom, "message": tmpl}
        if kind in ("uint", "int", "num"):
            # Which spellings of a number libvirt takes here (strtol base 0 or 10, blanks).
            # Unobserved spellings stay allowed; only what libvirt was seen to refuse is refused.
            entry["spell"] = [
                f for f in ("hex", "lead", "trail") if not any(r is not None for r in spellings[f].get(key, []))
            ]
        if kind == "enum":
            path, attr = key.split("@")
            # The grammar may spell an attribute's values in several places: take the union.
            plain = re.sub(r"\[[^]]*\]", "", key)  # the grammar does not split <address> by type
            vals = sorted(set(enums.get(plain, [])) | set(EXTRA_ENUMS.get(plain, [])))
            if not vals and key.endswith("/source@mode"):
                vals = CHR_SOURCE_MODES
            if not vals:
                continue
            entry["values"] = vals
        out[key] = entry
    texts = {}
    for key, rs in sorted(explore_text().items()):
        msgs = set(rs)
        if None in msgs or len(msgs) != 1 or key.startswith(UNSTABLE):
            continue
        code, dom, msg = msgs.pop()
        texts[key] = [code, dom, msg.replace(BOGUS, "%v")]
    write_tables(out, required, children, texts)
    print(f"{len(out)} checks written to {OUT}", file=sys.stderr)


# The check table is split into parts of at most PART_LINES lines (as biome formats them), so no
# generated file passes the house limit of 800 lines; attr-checks.ts merges them in key order.
PART_LINES = 600


def formatted_lines(v):
    """Lines one entry takes once biome has formatted it (multi-line object, one value a line)."""
    n = 2 + 4  # key line, closing brace, kind/code/domain/message
    if "values" in v:
        n += 2 + len(v["values"])
    if "spell" in v:
        n += 2 + len(v["spell"])
    return n


def write_tables(out, required, children, texts):
    parts, part, size = [], [], 0
    for k, v in out.items():
        n = formatted_lines(v)
        if part and size + n > PART_LINES:
            parts.append(part)
            part, size = [], 0
        part.append((k, v))
        size += n
    if part:
        parts.append(part)
    for i, entries in enumerate(parts, 1):
        lines = [
            f"// Part {i} of the attribute checks merged in attr-checks.ts (keys in order). GENERATED by",
            "// scripts/oracle/domain-attr-checks.py from real libvirt's answers and its RelaxNG enumerations.",
            "",
            'import type { AttrCheck } from "./attr-checks.js";',
            "",
            f"export const ATTR_CHECKS_PART{i}: Record<string, AttrCheck> = {{",
        ]
        for k, v in entries:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v, separators=(', ', ': '))},")
        lines.append("};")
        with open(os.path.join(os.path.dirname(OUT), f"attr-checks-part{i}.ts"), "w") as f:
            f.write("\n".join(lines) + "\n")
    lines = [
        "// Attribute checks libvirt 9.0 applies, keyed \"parent/element@attribute\": the kind of value it",
        "// accepts and the exact error it raises otherwise (%v stands for the value). GENERATED by",
        "// scripts/oracle/domain-attr-checks.py from real libvirt's answers and its RelaxNG enumerations.",
        "",
    ]
    for i in range(1, len(parts) + 1):
        lines.append(f'import {{ ATTR_CHECKS_PART{i} }} from "./attr-checks-part{i}.js";')
    lines += [
        "",
        'export type AttrCheckKind = "enum" | "uint" | "int" | "unit" | "bitmap" | "mac" | "uuid" | "ip" | "num";',
        "",
        "export interface AttrCheck {",
        "  kind: AttrCheckKind;",
        "  code: number;",
        "  domain: number;",
        "  message: string;",
        "  values?: readonly string[];",
        "  /** For numbers: other spellings libvirt accepts besides plain decimal. */",
        '  spell?: readonly ("hex" | "lead" | "trail")[];',
        "}",
        "",
        "export const ATTR_CHECKS: Record<string, AttrCheck> = {",
    ]
    for i in range(1, len(parts) + 1):
        lines.append(f"  ...ATTR_CHECKS_PART{i},")
    lines.append("};")
    lines += [
        "",
        "/** Attributes libvirt requires, per \"parent/element\": [attribute, code, domain, message]. */",
        "export const REQUIRED_ATTRS: Record<string, readonly (readonly [string, number, number, string])[]> = {",
    ]
    for k, v in required.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append("};")
    lines += [
        "",
        "/** Child elements libvirt requires, per \"parent/element\": [child, code, domain, message]. */",
        "export const REQUIRED_CHILDREN: Record<string, readonly (readonly [string, number, number, string])[]> = {",
    ]
    for k, v in children.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append("};")
    lines += [
        "",
        "/** Elements whose text libvirt reads as a decimal number, per \"parent/element\": [code, domain, message]. */",
        "export const NUMERIC_TEXT: Record<string, readonly [number, number, string]> = {",
    ]
    for k, v in texts.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append("};")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
