# virDomainIsUpdated through a domain's life: run against libvirtd 9.0 by
# scripts/oracle/qemu-is-updated.ts (output: is-updated.libvirt.txt) and against tsvirtd by
# tests/qemu-autodestroy-daemon.test.ts. Usage: is-updated.py URI
import sys

import libvirt

XML = """<domain type='qemu'><name>upd1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>
<devices><memballoon model='none'/></devices></domain>"""

c = libvirt.open(sys.argv[1])
d = c.defineXML(XML)
print("defined", d.isUpdated())
d.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
print("started", d.isUpdated())
d.setMemoryFlags(32768, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
print("config memory changed", d.isUpdated())
c.defineXML(d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).replace(">1</vcpu>", ">2</vcpu>"))
print("redefined while running", d.isUpdated())
d.destroy()
print("destroyed", d.isUpdated())
d.undefine()
