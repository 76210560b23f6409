#!/usr/bin/python3
# Generates the differential goldens for tests/conf-*.test.ts from REAL libvirt (test:///default,
# python-libvirt). For every input tests/data/<kind>-xml2xml/<case>.xml it writes either
# <case>.out.xml (the object's XMLDesc after define/create) or <case>.err.json (libvirt's error).
# Volatile fields are normalised: a snapshot's creationTime (and a generated name) become FIXED_TIME.
# Run: /usr/bin/python3 scripts/oracle/conf-corpus.py [kind ...]
import glob
import json
import os
import re
import sys

import libvirt

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")
FIXED_TIME = "1700000000"

libvirt.registerErrorHandler(lambda *a: None, None)


def cases(kind):
    for path in sorted(glob.glob(os.path.join(ROOT, f"{kind}-xml2xml", "*.xml"))):
        base = os.path.basename(path)
        if base.endswith(".out.xml") or base.startswith("domain-"):
            continue
        yield path[: -len(".xml")], open(path).read()


def save(stem, fn):
    for ext in (".out.xml", ".err.json"):
        if os.path.exists(stem + ext):
            os.unlink(stem + ext)
    try:
        out = fn()
    except libvirt.libvirtError as e:
        err = {"code": e.get_error_code(), "domain": e.get_error_domain(), "message": e.get_error_message()}
        with open(stem + ".err.json", "w") as f:
            f.write(json.dumps(err, indent=2) + "\n")
        return
    with open(stem + ".out.xml", "w") as f:
        f.write(out)


def network(conn, xml):
    net = conn.networkDefineXML(xml)
    try:
        return net.XMLDesc(0)
    finally:
        net.undefine()


def pool(conn, xml):
    p = conn.storagePoolDefineXML(xml)
    try:
        return p.XMLDesc(0)
    finally:
        p.undefine()


# Volume cases named "<pooltype>--<case>.xml" are created in a started pool of that type
# (target paths below); all others in the built-in dir pool 'default-pool' (/default-pool).
VOL_POOLS = {
    "logical": "<source><name>vg</name></source><target><path>/dev/vg</path></target>",
    "disk": "<source><device path='/dev/sdx'/></source><target><path>/dev</path></target>",
    "iscsi": "<source><host name='h'/><device path='iqn.x'/></source><target><path>/dev/disk/by-path</path></target>",
    "rbd": "<source><name>rp</name><host name='h'/></source>",
    "netfs": "<source><host name='h'/><dir path='/e'/></source><target><path>/mnt/nfs</path></target>",
}


def volume(conn, xml, stem):
    base = os.path.basename(stem)
    ptype = base.split("--")[0] if "--" in base else None
    if ptype:
        p = conn.storagePoolDefineXML(f"<pool type='{ptype}'><name>vp-{ptype}</name>{VOL_POOLS[ptype]}</pool>")
        p.create()
    else:
        p = conn.storagePoolLookupByName("default-pool")
    try:
        v = p.createXML(xml, 0)
        try:
            return v.XMLDesc(0)
        finally:
            v.delete(0)
    finally:
        if ptype:
            p.destroy()
            p.undefine()


def interface(conn, xml):
    i = conn.interfaceDefineXML(xml)
    try:
        return i.XMLDesc(0)
    finally:
        i.undefine()


def snapshot_for(conn):
    # "run-*" (and "redef-*") cases snapshot the running built-in domain 'test'; "off-*" (and bad-*) a shut-off
    # domain defined from domain-snapdom.xml whose live XML is saved beside it.
    d = conn.defineXML(open(os.path.join(ROOT, "snapshot-xml2xml", "domain-snapdom.xml")).read())
    with open(os.path.join(ROOT, "snapshot-xml2xml", "domain-snapdom.out.xml"), "w") as f:
        f.write(d.XMLDesc(0))
    with open(os.path.join(ROOT, "snapshot-xml2xml", "domain-test.out.xml"), "w") as f:
        f.write(conn.lookupByName("test").XMLDesc(0))

    def snap(stem, xml):
        base = os.path.basename(stem)
        dom = conn.lookupByName("test" if base.startswith(("run-", "redef-")) else "snapdom")
        # "redef-*" cases carry their own creationTime and domain: VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE if base.startswith("redef-") else 0
        # A redefined snapshot's <parent> must exist: create it first, drop both afterwards.
        pm = re.search(r"<parent>\s*<name>([^<]+)</name>", xml) if flags else None
        parent = dom.snapshotCreateXML(f"<domainsnapshot><name>{pm.group(1)}</name></domainsnapshot>", 0) if pm else None
        try:
            s = dom.snapshotCreateXML(xml, flags)
            try:
                out = s.getXMLDesc(0)
            finally:
                s.delete(0)
        finally:
            if parent:
                parent.delete(0)
        m = re.search(r"<creationTime>(\d+)</creationTime>", out)
        if m and f"<creationTime>{m.group(1)}</creationTime>" not in xml:
            out = out.replace(f"<creationTime>{m.group(1)}<", f"<creationTime>{FIXED_TIME}<")
            out = out.replace(f"<name>{m.group(1)}</name>", f"<name>{FIXED_TIME}</name>")
        return out

    return snap


def main():
    kinds = sys.argv[1:] or ["network", "pool", "volume", "snapshot", "interface"]
    conn = libvirt.open("test:///default")
    ops = {"network": network, "pool": pool, "interface": interface}
    for kind in kinds:
        if kind == "snapshot":
            snap = snapshot_for(conn)
            for stem, xml in cases(kind):
                save(stem, lambda: snap(stem, xml))
        else:
            for stem, xml in cases(kind):
                if kind == "volume":
                    save(stem, lambda: volume(conn, xml, stem))
                else:
                    save(stem, lambda: ops[kind](conn, xml))


main()
