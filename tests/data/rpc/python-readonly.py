# python-libvirt probe used by tests/daemon-python.test.ts: write calls on a read-only connection
# (tsvirtd's read-only socket, or an in-process openReadOnly) print the same code, domain, text.
import sys

import libvirt

libvirt.registerErrorHandler(lambda c, e: None, None)
uri = sys.argv[1]
c = libvirt.open(uri) if "sock-ro" in uri else libvirt.openReadOnly(uri)
d = c.lookupByName("test")
calls = [
    ("destroy", d.destroy),
    ("setAutostart", lambda: d.setAutostart(1)),
    ("net-destroy", lambda: c.networkLookupByName("default").destroy()),
    ("pool-destroy", lambda: c.storagePoolLookupByName("default-pool").destroy()),
    ("define", lambda: c.defineXML("<domain/>")),
    ("xml-secure", lambda: d.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)),
    ("info", lambda: d.info()[0]),
]
for name, f in calls:
    try:
        print(name, "ok", f())
    except libvirt.libvirtError as e:
        print(name, e.get_error_code(), e.get_error_domain(), e)
