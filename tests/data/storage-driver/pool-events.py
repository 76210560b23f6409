# Storage pool lifecycle and refresh events as a python-libvirt client sees them over RPC:
# usage: pool-events.py URI DIR; prints the events of one pool's life, one per line.
import sys
import threading
import time

import libvirt

libvirt.virEventRegisterDefaultImpl()
uri, base = sys.argv[1], sys.argv[2]
conn = libvirt.open(uri)
got = []
conn.storagePoolEventRegisterAny(
    None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
    lambda c, pool, event, detail, opaque: got.append("%s lifecycle %d %d" % (pool.name(), event, detail)), None)
conn.storagePoolEventRegisterAny(
    None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
    lambda c, pool, opaque: got.append("%s refresh" % pool.name()), None)


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()
pool = conn.storagePoolDefineXML(
    "<pool type='dir'><name>evp</name><target><path>%s/evp</path></target></pool>" % base)
pool.build(0)
pool.create(0)
pool.refresh(0)
vol = pool.createXML("<volume><name>a</name><capacity>1048576</capacity></volume>", 0)
print("info", vol.info(), conn.storageVolLookupByPath(vol.path()).name(), vol.storagePoolLookupByVolume().name())
vol.delete(0)
pool.destroy()
pool.delete(0)
pool.undefine()
deadline = time.time() + 5
while len(got) < 7 and time.time() < deadline:
    time.sleep(0.05)
print("\n".join(got))
