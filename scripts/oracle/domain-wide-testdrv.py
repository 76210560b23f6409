#!/usr/bin/python3
# The qemu-dumpxml cases (tests/data/qemu-dumpxml/*.xml: virt-install-like guests and invalid
# ones) defined on REAL libvirt 9.0's test driver (test:///default via python-libvirt), as written
# (type qemu/kvm; the test driver keeps the type and adds none of the QEMU defaults): writes
# tests/data/domain-wide/<case>.out.xml (XMLDesc(0)), <case>.secure.out.xml (XMLDesc(SECURE), when
# it differs), <case>.migratable.out.xml (XMLDesc(MIGRATABLE), when it differs) or <case>.err
# ({"code","domain","message"}). tests/conf-domain-wide.test.ts compares
# tsvirt's parse + format with them; generated UUIDs, MACs and OVS interfaceids are normalised there.
# Run: /usr/bin/python3 scripts/oracle/domain-wide-testdrv.py
import glob
import json
import os

import libvirt

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "tests", "data", "qemu-dumpxml")
OUT = os.path.join(HERE, "..", "..", "tests", "data", "domain-wide")
libvirt.registerErrorHandler(lambda *a: None, None)


def main():
    conn = libvirt.open("test:///default")
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, "*")):
        os.unlink(old)
    n = {"ok": 0, "err": 0}
    for path in sorted(glob.glob(os.path.join(SRC, "*.xml"))):
        if ".libvirt" in path:
            continue
        name = os.path.basename(path)[:-4]
        xml = open(path).read()
        try:
            dom = conn.defineXML(xml)
            try:
                out = dom.XMLDesc(0) + "\n"
                sec = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE) + "\n"
                mig = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE) + "\n"
            finally:
                dom.undefine()
            open(os.path.join(OUT, name + ".out.xml"), "w").write(out)
            if sec != out:
                open(os.path.join(OUT, name + ".secure.out.xml"), "w").write(sec)
            if mig != out:
                open(os.path.join(OUT, name + ".migratable.out.xml"), "w").write(mig)
            n["ok"] += 1
        except libvirt.libvirtError as e:
            err = {"code": e.get_error_code(), "domain": e.get_error_domain(), "message": e.get_error_message()}
            open(os.path.join(OUT, name + ".err"), "w").write(json.dumps(err, indent=2) + "\n")
            n["err"] += 1
    print(n)


main()
