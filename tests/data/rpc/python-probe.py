# python-libvirt probe used by tests/daemon-python.test.ts: the same calls against tsvirtd and
# against libvirt's in-process test:///default must print the same lines.
import libvirt, sys, threading, time
uri = sys.argv[1]
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(uri)
print(c.getHostname(), c.getType(), c.getVersion(), c.getLibVersion())
print([d.name() for d in c.listAllDomains()])
d = c.lookupByName("test")
info = d.info()
info[4] = "<cputime>"
print(info, d.state(), d.isActive(), d.isPersistent(), d.autostart(), d.UUIDString(), d.ID(), d.OSType())
print(d.maxMemory(), d.vcpusFlags(0))
print(c.getInfo())
print([n.name() for n in c.listAllNetworks()], [p.name() for p in c.listAllStoragePools()])
p = c.storagePoolLookupByName("default-pool")
print(p.info(), [v.name() for v in p.listAllVolumes()])
print(d.schedulerType(), d.schedulerParameters())
events = []
def cb(conn, dom, event, detail, opaque):
    events.append((dom.name(), event, detail))
cid = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
d.suspend(); d.resume()
for _ in range(200):
    if len(events) >= 2:
        break
    time.sleep(0.05)
print("events", events)
c.domainEventDeregisterAny(cid)
snap = d.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
print(snap.getName(), [s.getName() for s in d.listAllSnapshots()], snap.getParent() if False else "")
print(d.hasCurrentSnapshot(), d.snapshotCurrent().getName())
snap.delete()
try:
    c.lookupByName("nope")
except libvirt.libvirtError as e:
    print("ERR", e.get_error_code(), e.get_error_domain(), e)
c.close()
