#!/usr/bin/python3
# Writes the domain differential corpus: every case from domain_cases_*.py becomes
# tests/data/domain-xml2xml/<case>.xml (valid) or tests/data/domain-invalid/<case>.xml, and REAL
# libvirt 9.0's test driver (test:///default via python-libvirt) supplies the goldens:
# <case>.out.xml = XMLDesc(0) after defineXML, <case>.secure.out.xml = XMLDesc(SECURE) when the
# input holds a password, <case>.migratable.out.xml = XMLDesc(MIGRATABLE) when it differs from
# XMLDesc(0), <case>.err = {"code","domain","message"} when libvirt refuses it.
# Run: /usr/bin/python3 scripts/oracle/domain-corpus.py
import glob
import json
import os
import re
import runpy
import subprocess
import sys

import libvirt

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    """Runs scripts/oracle/<name>.py (dash-named, so not importable) and returns its globals."""
    return runpy.run_path(os.path.join(HERE, name + ".py"))


BASIC = load("domain-cases-basic")["CASES"]
DEVICES = load("domain-cases-devices")["CASES"] + load("domain-cases-more")["CASES"]
DEVICES += load("domain-cases-real")["CASES"]
DEVICES += load("domain-cases-storage")["CASES"]
INVALID = load("domain-cases-invalid")["CASES"]
INVALID += load("domain-cases-storage")["INVALID"]
build = load("domain-cases-util")["build"]

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")
libvirt.registerErrorHandler(lambda *a: None, None)


def run(conn, xml):
    """Returns (out, secure_out, migratable_out) or raises libvirtError."""
    dom = conn.defineXML(xml)
    try:
        out = dom.XMLDesc(0)
        sec = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE) if "passwd" in xml or "<cookie" in xml else None
        mig = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        return out, sec, mig
    finally:
        dom.undefine()


def reverse_attributes(xml):
    """The same document with every element's attributes in reverse order (meaning unchanged)."""

    def fix(m):
        attrs = re.findall(r"""\s+([^\s=/>]+)\s*=\s*('[^']*'|"[^"]*")""", m.group(2))
        if len(attrs) < 2:
            return m.group(0)
        return "<" + m.group(1) + "".join(f" {k}={v}" for k, v in reversed(attrs)) + m.group(3)

    return re.sub(r"<([A-Za-z_][\w:.-]*)((?:\s+[^\s=/>]+\s*=\s*(?:'[^']*'|\"[^\"]*\"))+)\s*(/?>)", fix, xml)


def reverse_children(xml):
    """The document with every element's children in reverse order (<metadata> left alone).
    Where order carries meaning (boot devices, device lists) libvirt's golden shows the result."""
    import xml.dom.minidom as md

    doc = md.parseString(xml)

    def walk(n):
        if n.tagName == "metadata":
            return
        kids = [k for k in n.childNodes if k.nodeType == k.ELEMENT_NODE]
        for k in kids:
            walk(k)
        texts = [k for k in n.childNodes if k.nodeType == k.TEXT_NODE and k.data.strip()]
        if len(kids) > 1 and not texts:
            for k in list(n.childNodes):
                n.removeChild(k)
            for k in reversed(kids):
                n.appendChild(k)

    walk(doc.documentElement)
    return doc.documentElement.toxml() + "\n"


def bogus_variants(cases, drop=False):
    """One document per distinct parent/element@attribute with that attribute set to 'bogus'
    (or, with drop, left out), first occurrence across the valid cases: pins down which values
    libvirt refuses and which attributes it requires."""
    import xml.dom.minidom as md

    seen = set()
    for name, xml in cases:
        try:
            doc = md.parseString(xml)
        except Exception:
            continue
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
            key = f"{parent}-{n.tagName}-{a}".strip("-").replace(":", "_")
            if key in seen:
                continue
            seen.add(key)
            old = n.getAttribute(a)
            if drop:
                n.removeAttribute(a)
            else:
                n.setAttribute(a, "bogus")
            yield f"{'missing' if drop else 'bogus'}-{key}", doc.documentElement.toxml() + "\n"
            n.setAttribute(a, old)


def child_dropped_variants(cases):
    """One document per distinct parent/element>child with that child left out."""
    import xml.dom.minidom as md

    seen = set()
    for _name, xml in cases:
        try:
            doc = md.parseString(xml)
        except Exception:
            continue
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
            key = f"{parent}-{n.tagName}-{k.tagName}".strip("-").replace(":", "_")
            if key in seen:
                continue
            seen.add(key)
            nxt = k.nextSibling
            n.removeChild(k)
            yield f"nochild-{key}", doc.documentElement.toxml() + "\n"
            n.insertBefore(k, nxt)


def bogus_text_variants(cases):
    """One document per distinct parent/element whose numeric text is replaced by 'bogus'."""
    import xml.dom.minidom as md

    seen = set()
    for _name, xml in cases:
        try:
            doc = md.parseString(xml)
        except Exception:
            continue
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
            key = f"{parent}-{n.tagName}".strip("-")
            if key in seen:
                continue
            seen.add(key)
            old = list(n.childNodes)
            for k in old:
                n.removeChild(k)
            n.appendChild(doc.createTextNode("bogus"))
            yield f"text-{key}", doc.documentElement.toxml() + "\n"
            n.removeChild(n.firstChild)
            for k in old:
                n.appendChild(k)


def enum_value_variants(cases, checks_json):
    """For each enumerated attribute (values from attr-checks.ts), its first document with up to
    three other allowed values: exercises defaults and cross-field rules value by value."""
    import xml.dom.minidom as md

    enums = {k: v["values"] for k, v in json.loads(checks_json).items() if v["kind"] == "enum"}
    seen = set()
    for name, xml in cases:
        try:
            doc = md.parseString(xml)
        except Exception:
            continue
        slots = []

        def walk(n, parent):
            if n.tagName == "metadata" or ":" in n.tagName:
                return
            for a in list(n.attributes.keys()):
                slots.append((n, parent, a))
            for k in n.childNodes:
                if k.nodeType == k.ELEMENT_NODE:
                    walk(k, n.tagName)

        walk(doc.documentElement, "")
        for n, parent, a in slots:
            typed = n.tagName == "address" and a != "type" and n.getAttribute("type")
            el = f"address[{n.getAttribute('type')}]" if typed else n.tagName
            key = f"{parent}/{el}@{a}"
            if key not in enums or key in seen:
                continue
            seen.add(key)
            old = n.getAttribute(a)
            for val in [v for v in enums[key] if v != old][:3]:
                n.setAttribute(a, val)
                tag = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{parent}-{el}-{a}-{val}".strip("-"))
                yield f"enum-{tag}", doc.documentElement.toxml() + "\n"
            n.setAttribute(a, old)


def accepted_in_child(xml):
    """Defines xml in a forked child (libvirt 9.0 crashes on some mangled documents):
    ("ok", XMLDesc), ("err", error dict) or None when the child died."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            c = libvirt.open("test:///default")
            d = c.defineXML(xml)
            res = ["ok", d.XMLDesc(0)]
            d.undefine()
        except libvirt.libvirtError as e:
            res = ["err", {"code": e.get_error_code(), "domain": e.get_error_domain(), "message": e.get_error_message()}]
        with os.fdopen(w, "w") as f:
            f.write(json.dumps(res))
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    return json.loads(data) if status == 0 and data else None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    conn = libvirt.open("test:///default")
    counts = {"ok": 0, "err": 0}
    # NUMA distances get unstable answers from libvirt 9.0 when mangled: no variants of them.
    base = [(n, build(n, d) if isinstance(d, dict) else d) for n, d in BASIC + DEVICES if "distances" not in n]
    bogus = []
    variants = list(bogus_variants(base)) + list(bogus_variants(base, drop=True)) + list(child_dropped_variants(base))
    variants += list(bogus_text_variants(base))
    for name, xml in variants:
        try:
            conn.defineXML(xml).undefine()
        except libvirt.libvirtError:
            bogus.append((name, xml))
    # Enumerated values one by one: accepted ones join the valid corpus, refused ones the invalid.
    checks = subprocess.run(
        ["node", "--import", "tsx", "-e",
         "import('./src/conf/domain/attr-checks.ts').then(m => process.stdout.write(JSON.stringify(m.ATTR_CHECKS)))"],
        cwd=os.path.join(HERE, "..", ".."), capture_output=True, text=True, check=True,
    ).stdout
    enum_ok, enum_bad = [], []
    for name, xml in enum_value_variants(base, checks):
        res = accepted_in_child(xml)
        if res is None:
            continue
        (enum_ok if res[0] == "ok" else enum_bad).append((name, xml))
    for sub, cases in (("domain-xml2xml", BASIC + DEVICES + enum_ok), ("domain-invalid", INVALID + bogus + enum_bad)):
        d = os.path.join(ROOT, sub)
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "*")):
            os.unlink(old)
        expanded = []
        for name, doc in cases:
            xml = build(name, doc) if isinstance(doc, dict) else doc
            expanded.append((name, xml))
            # Attribute order must never matter: each valid document also comes reversed.
            rev = reverse_attributes(xml)
            if sub == "domain-xml2xml" and rev != xml and not name.startswith("enum-"):
                expanded.append((name + "-revattr", rev))
            # ... and with children reversed (libvirt reorders most of them).
            if sub == "domain-xml2xml" and not name.startswith(("comments", "enum-")):
                expanded.append((name + "-revchildren", reverse_children(xml)))
        for name, xml in expanded:
            stem = os.path.join(d, name)
            write(stem + ".xml", xml)
            try:
                out, sec, mig = run(conn, xml)
            except libvirt.libvirtError as e:
                err = {"code": e.get_error_code(), "domain": e.get_error_domain(), "message": e.get_error_message()}
                write(stem + ".err", json.dumps(err, indent=2) + "\n")
                counts["err"] += 1
                if sub == "domain-xml2xml":
                    print(f"warning: valid case {name} refused: {err['message']}", file=sys.stderr)
                continue
            if sub == "domain-invalid":
                print(f"warning: invalid case {name} accepted", file=sys.stderr)
            write(stem + ".out.xml", out)
            if sec is not None and sec != out:
                write(stem + ".secure.out.xml", sec)
            if mig != out:
                write(stem + ".migratable.out.xml", mig)
            counts["ok"] += 1
    print(counts)


if __name__ == "__main__":
    main()
