#!/usr/bin/python3
# Persistence probe through python-libvirt: `populate URI POOLDIR` defines persistent objects of
# every kind (domain with autostart and redefined snapshot metadata, network, storage pool, each
# with autostart); `dump URI` prints every persistent object's inactive XML, autostart flag and
# snapshots as JSON. tests/daemon-persist.test.ts dumps before kill -9 and after a restart.
import json
import re
import sys

import libvirt

L = libvirt
libvirt.registerErrorHandler(lambda *a: None, None)

DOM_UUID = "5a6c1f0e-2d9b-4b53-9d2e-0f6e4f1a7c01"
DOM_XML = """<domain type='qemu'>
  <name>persist-d1</name>
  <uuid>%s</uuid>
  <title>persisted</title>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/nonexistent/persist-d1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
""" % DOM_UUID

# Snapshot metadata alone (REDEFINE): no disk is touched.
SNAP_XML = """<domainsnapshot>
  <name>%s</name>
  <description>%s</description>
  <state>shutoff</state>
  %s
  <creationTime>%d</creationTime>
  <memory snapshot='no'/>
  <disks><disk name='vda' snapshot='internal'/></disks>
  <domain type='qemu'>
    <name>persist-d1</name>
    <uuid>%s</uuid>
    <memory unit='MiB'>64</memory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='/nonexistent/persist-d1.qcow2'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
  </domain>
</domainsnapshot>
"""

NET_XML = """<network>
  <name>persist-net</name>
  <uuid>5a6c1f0e-2d9b-4b53-9d2e-0f6e4f1a7c02</uuid>
  <bridge name='tsvp0'/>
  <ip address='10.203.7.1' netmask='255.255.255.0'/>
</network>
"""

POOL_XML = """<pool type='dir'>
  <name>persist-pool</name>
  <uuid>5a6c1f0e-2d9b-4b53-9d2e-0f6e4f1a7c03</uuid>
  <target><path>%s</path></target>
</pool>
"""


def err(e):
    return [e.get_error_code(), e.get_error_domain(), e.get_error_message()]


def populate(c, pool_dir):
    out = {}

    def step(kind, fn):
        if kind in out and out[kind] != "ok":
            return
        try:
            fn()
            out[kind] = "ok"
        except L.libvirtError as e:
            out[kind] = err(e)

    step("domain", lambda: c.defineXML(DOM_XML))
    step("domain.autostart", lambda: c.lookupByName("persist-d1").setAutostart(1))
    d = lambda: c.lookupByName("persist-d1")
    step("snapshot", lambda: d().snapshotCreateXML(
        SNAP_XML % ("s1", "first", "", 1700000000, DOM_UUID), L.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    step("snapshot", lambda: d().snapshotCreateXML(
        SNAP_XML % ("s2", "second", "<parent><name>s1</name></parent>", 1700000100, DOM_UUID),
        L.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | L.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT))
    step("network", lambda: c.networkDefineXML(NET_XML))
    step("network.autostart", lambda: c.networkLookupByName("persist-net").setAutostart(1))
    step("pool", lambda: c.storagePoolDefineXML(POOL_XML % pool_dir, 0))
    step("pool.autostart", lambda: c.storagePoolLookupByName("persist-pool").setAutostart(1))
    return out


def safe(fn):
    try:
        return fn()
    except L.libvirtError as e:
        return {"error": err(e)}


def xml_inactive(obj, flag):
    # libvirt's test driver refuses the INACTIVE flag on networks/pools (it keeps no separate
    # inactive definition): fall back to the plain XML.
    try:
        return obj.XMLDesc(flag)
    except L.libvirtError:
        return safe(lambda: obj.XMLDesc(0))


def pool_def(xml):
    # A daemon that autostarts the pool on restart (libvirt does) refreshes it: capacity,
    # allocation, available and the target's permissions come from the directory, not the config.
    if not isinstance(xml, str):
        return xml
    xml = re.sub(r"  <(capacity|allocation|available) unit='bytes'>\d+</\1>\n", "", xml)
    return re.sub(r"\n *<permissions>.*?</permissions>", "", xml, flags=re.S)


def dump_domain(d):
    snaps = safe(lambda: d.listAllSnapshots(0))
    has_current = safe(lambda: d.hasCurrentSnapshot(0))
    return {
        "xml": safe(lambda: d.XMLDesc(L.VIR_DOMAIN_XML_INACTIVE | L.VIR_DOMAIN_XML_SECURE)),
        "autostart": safe(lambda: d.autostart()),
        "snapshots": {s.getName(): safe(lambda s=s: s.getXMLDesc(0)) for s in snaps}
        if isinstance(snaps, list) else snaps,
        "current": safe(lambda: d.snapshotCurrent(0).getName()) if has_current == 1 else has_current,
    }


def dump(c):
    out = {}
    doms = safe(lambda: c.listAllDomains(L.VIR_CONNECT_LIST_DOMAINS_PERSISTENT))
    out["domains"] = {d.name(): dump_domain(d) for d in doms} if isinstance(doms, list) else doms
    nets = safe(lambda: c.listAllNetworks(L.VIR_CONNECT_LIST_NETWORKS_PERSISTENT))
    out["networks"] = {
        n.name(): {"xml": xml_inactive(n, L.VIR_NETWORK_XML_INACTIVE), "autostart": safe(lambda n=n: n.autostart())}
        for n in nets
    } if isinstance(nets, list) else nets
    pools = safe(lambda: c.listAllStoragePools(L.VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT))
    out["pools"] = {
        p.name(): {"xml": pool_def(xml_inactive(p, L.VIR_STORAGE_XML_INACTIVE)), "autostart": safe(lambda p=p: p.autostart())}
        for p in pools
    } if isinstance(pools, list) else pools
    return out


def main():
    mode, uri = sys.argv[1], sys.argv[2]
    try:
        c = L.open(uri)
    except L.libvirtError as e:
        print(json.dumps({"openError": err(e)}))
        return
    if mode == "populate":
        print(json.dumps(populate(c, sys.argv[3])))
    else:
        print(json.dumps(dump(c)))
    c.close()


if __name__ == "__main__":
    main()
