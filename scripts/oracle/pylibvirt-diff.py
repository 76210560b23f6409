#!/usr/bin/python3
# python-libvirt differential sequence: the same calls against any URI (libvirt's in-process
# test:///default, or a daemon's test+unix:///default?socket=…), printed as JSON checks so that
# tests/python-libvirt-diff.test.ts can compare libvirt with tsvirtd check by check.
# Usage: pylibvirt-diff.py RW_URI RO_URI   (RO_URI is opened read-only)
# The sequence ends where it started (every object it creates is removed again), so it can run
# against a daemon whose test:///default instance is shared.
import json
import re
import sys
import threading
import time

import libvirt

L = libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()

UUID_D1 = "6695eb01-f6a4-8304-79aa-97f2502e1931"
UUID_T1 = "6695eb01-f6a4-8304-79aa-97f2502e1932"
UUID_N1 = "7695eb01-f6a4-8304-79aa-97f2502e1931"
UUID_N2 = "7695eb01-f6a4-8304-79aa-97f2502e1932"
UUID_P1 = "8695eb01-f6a4-8304-79aa-97f2502e1931"

DOM_XML = """<domain type='test'>
  <name>%s</name>
  <uuid>%s</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os><type arch='i686'>hvm</type><boot dev='hd'/></os>
  <on_reboot>restart</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/%s.img'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:%s'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>
"""

NET_XML = """<network>
  <name>%s</name>
  <uuid>%s</uuid>
  <forward mode='nat'/>
  <bridge name='%s' stp='on' delay='0'/>
  <mac address='52:54:00:12:34:%s'/>
  <ip address='192.168.%d.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.%d.2' end='192.168.%d.254'/></dhcp>
  </ip>
</network>
"""

POOL_XML = """<pool type='dir'>
  <name>pypool</name>
  <uuid>%s</uuid>
  <target><path>/pypool</path></target>
</pool>
""" % UUID_P1

VOL_XML = """<volume>
  <name>%s</name>
  <capacity unit='MiB'>%d</capacity>
  <allocation unit='MiB'>0</allocation>
  <target><format type='raw'/></target>
</volume>
"""

checks = []
events = []


def plain(v):
    """JSON-able form of a python-libvirt result."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in sorted(v.items())}
    if isinstance(v, (L.virDomain, L.virNetwork, L.virStoragePool, L.virStorageVol)):
        return {"name": v.name()}
    if isinstance(v, L.virDomainSnapshot):
        return {"snapshot": v.getName()}
    if isinstance(v, str):
        return re.sub(r"<creationTime>\d+</creationTime>", "<creationTime>T</creationTime>", v)
    return v


def ck(name, fn):
    try:
        v = plain(fn())
    except L.libvirtError as e:
        v = {"error": [e.get_error_code(), e.get_error_domain(), e.get_error_message()]}
    checks.append([name, v])
    return v


def names(objs):
    return sorted(o.name() for o in objs)


def run_loop():
    while True:
        L.virEventRunDefaultImpl()


def register_events(c):
    def dom_cb(_c, dom, event, detail, _o):
        events.append(["domain", dom.name(), event, detail])

    def reboot_cb(_c, dom, _o):
        events.append(["domain-reboot", dom.name()])

    def net_cb(_c, net, event, detail, _o):
        events.append(["network", net.name(), event, detail])

    def pool_cb(_c, pool, event, detail, _o):
        events.append(["pool", pool.name(), event, detail])

    return [
        c.domainEventRegisterAny(None, L.VIR_DOMAIN_EVENT_ID_LIFECYCLE, dom_cb, None),
        c.domainEventRegisterAny(None, L.VIR_DOMAIN_EVENT_ID_REBOOT, reboot_cb, None),
        c.networkEventRegisterAny(None, L.VIR_NETWORK_EVENT_ID_LIFECYCLE, net_cb, None),
        c.storagePoolEventRegisterAny(None, L.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, pool_cb, None),
    ]


DOM_LIST_FLAGS = [
    "ACTIVE", "INACTIVE", "PERSISTENT", "TRANSIENT", "RUNNING", "PAUSED", "SHUTOFF", "OTHER",
    "MANAGEDSAVE", "NO_MANAGEDSAVE", "AUTOSTART", "NO_AUTOSTART", "HAS_SNAPSHOT", "NO_SNAPSHOT",
]


def domain_listings(c, tag):
    ck("%s.listAll" % tag, lambda: names(c.listAllDomains(0)))
    for f in DOM_LIST_FLAGS:
        flag = getattr(L, "VIR_CONNECT_LIST_DOMAINS_" + f)
        ck("%s.listAll.%s" % (tag, f), lambda flag=flag: names(c.listAllDomains(flag)))
    ck("%s.listIDs" % tag, lambda: sorted(c.listDomainsID()))
    ck("%s.listDefined" % tag, lambda: sorted(c.listDefinedDomains()))
    ck("%s.numOf" % tag, lambda: [c.numOfDomains(), c.numOfDefinedDomains()])


def domain_facts(c, name, tag):
    d = c.lookupByName(name)
    ck(tag + ".state", lambda: d.state(0))
    ck(tag + ".info", lambda: d.info()[:4])
    ck(tag + ".ids", lambda: [d.ID(), d.UUIDString(), d.OSType(), d.isActive(), d.isPersistent()])
    ck(tag + ".mem", lambda: [d.maxMemory(), d.maxVcpus() if d.isActive() else None])
    ck(tag + ".autostart", lambda: d.autostart())
    ck(tag + ".xml", lambda: d.XMLDesc(0))
    ck(tag + ".xml.inactive", lambda: d.XMLDesc(L.VIR_DOMAIN_XML_INACTIVE))
    ck(tag + ".managedsave", lambda: d.hasManagedSaveImage(0))
    return d


def connection(c):
    ck("conn.type", lambda: c.getType())
    ck("conn.version", lambda: c.getVersion())
    ck("conn.libVersion", lambda: c.getLibVersion())
    ck("conn.hostname", lambda: c.getHostname())
    ck("conn.maxVcpus", lambda: c.getMaxVcpus(None))
    ck("conn.nodeInfo", lambda: c.getInfo())
    ck("conn.alive", lambda: [c.isAlive(), c.isSecure()])
    ck("conn.capabilities", lambda: c.getCapabilities())
    ck("conn.freeMemory", lambda: c.getFreeMemory())
    ck("conn.cellsFree", lambda: c.getCellsFreeMemory(0, 2))


def lifecycle(c):
    ck("d1.define", lambda: c.defineXML(DOM_XML % ("pyd1", UUID_D1, "pyd1", "01")))
    d = domain_facts(c, "pyd1", "d1.defined")
    ck("d1.define.dupName", lambda: c.defineXML(DOM_XML % ("pyd1", UUID_T1, "x", "09")))
    ck("d1.define.dupTest", lambda: c.defineXML(DOM_XML % ("test", UUID_T1, "x", "09")))
    ck("d1.create", lambda: d.create())
    domain_facts(c, "pyd1", "d1.running")
    ck("d1.create.again", lambda: d.create())
    ck("d1.suspend", lambda: d.suspend())
    ck("d1.suspend.again", lambda: d.suspend())
    domain_listings(c, "d1.paused")
    ck("d1.paused.state", lambda: d.state(0))
    ck("d1.resume", lambda: d.resume())
    ck("d1.resume.again", lambda: d.resume())
    ck("d1.reboot", lambda: d.reboot(0))
    ck("d1.rebooted.state", lambda: d.state(0))
    ck("d1.setMemory.live", lambda: d.setMemoryFlags(200000, L.VIR_DOMAIN_AFFECT_LIVE))
    ck("d1.setMemory.tooBig", lambda: d.setMemoryFlags(900000, L.VIR_DOMAIN_AFFECT_LIVE))
    ck("d1.setVcpus.config", lambda: d.setVcpusFlags(2, L.VIR_DOMAIN_AFFECT_CONFIG))
    ck("d1.vcpusFlags", lambda: [d.vcpusFlags(L.VIR_DOMAIN_AFFECT_LIVE), d.vcpusFlags(L.VIR_DOMAIN_AFFECT_CONFIG)])
    ck("d1.isUpdated", lambda: d.isUpdated())
    ck("d1.shutdown", lambda: d.shutdown())
    domain_facts(c, "pyd1", "d1.shutoff")
    ck("d1.destroy.inactive", lambda: d.destroy())
    ck("d1.setAutostart", lambda: d.setAutostart(1))
    domain_listings(c, "d1.autostart")
    ck("d1.unsetAutostart", lambda: d.setAutostart(0))
    ck("d1.setMetadata", lambda: d.setMetadata(L.VIR_DOMAIN_METADATA_DESCRIPTION, "a python guest", None, None,
                                               L.VIR_DOMAIN_AFFECT_CONFIG))
    ck("d1.metadata", lambda: d.metadata(L.VIR_DOMAIN_METADATA_DESCRIPTION, None, L.VIR_DOMAIN_AFFECT_CONFIG))
    ck("d1.metadata.title", lambda: d.metadata(L.VIR_DOMAIN_METADATA_TITLE, None, 0))
    ck("d1.setMaxMemory", lambda: d.setMaxMemory(300000))
    ck("d1.xml.edited", lambda: d.XMLDesc(0))
    # Managed save: start, save, listed with MANAGEDSAVE, start again restores it.
    ck("d1.create2", lambda: d.create())
    ck("d1.managedSave", lambda: d.managedSave(0))
    domain_facts(c, "pyd1", "d1.saved")
    domain_listings(c, "d1.saved")
    ck("d1.create.restore", lambda: d.create())
    ck("d1.restored.state", lambda: d.state(0))
    ck("d1.destroy", lambda: d.destroy())
    ck("d1.managedSave.inactive", lambda: d.managedSave(0))
    ck("d1.managedSaveRemove", lambda: d.managedSaveRemove(0))
    # Transient domain: gone once destroyed.
    ck("t1.createXML", lambda: c.createXML(DOM_XML % ("pyt1", UUID_T1, "pyt1", "02"), 0))
    domain_facts(c, "pyt1", "t1.running")
    domain_listings(c, "t1.running")
    ck("t1.undefine.transient", lambda: c.lookupByName("pyt1").undefine())
    ck("t1.destroy", lambda: c.lookupByName("pyt1").destroy())
    ck("t1.lookup.gone", lambda: c.lookupByName("pyt1"))
    ck("t1.lookupByUUID.gone", lambda: c.lookupByUUIDString(UUID_T1))


def snapshots(c):
    d = c.lookupByName("pyd1")
    mk = lambda n, desc: d.snapshotCreateXML(
        "<domainsnapshot><name>%s</name><description>%s</description></domainsnapshot>" % (n, desc), 0)
    ck("snap.none", lambda: [d.hasCurrentSnapshot(0), d.snapshotNum(0)])
    ck("snap.current.none", lambda: d.snapshotCurrent(0))
    ck("snap.s1", lambda: mk("s1", "while off"))
    ck("snap.start", lambda: d.create())
    ck("snap.s2", lambda: mk("s2", "while running"))
    ck("snap.s3", lambda: mk("s3", "child of s2"))
    ck("snap.dup", lambda: mk("s3", "again"))
    for f in ["0", "ROOTS", "LEAVES", "NO_LEAVES", "METADATA", "INACTIVE", "ACTIVE", "TOPOLOGICAL"]:
        flag = 0 if f == "0" else getattr(L, "VIR_DOMAIN_SNAPSHOT_LIST_" + f)
        ck("snap.list." + f, lambda flag=flag: sorted(s.getName() for s in d.listAllSnapshots(flag)))
        ck("snap.num." + f, lambda flag=flag: d.snapshotNum(flag))
    ck("snap.current", lambda: d.snapshotCurrent(0).getName())
    for n in ["s1", "s2", "s3"]:
        s = d.snapshotLookupByName(n, 0)
        ck("snap.%s.xml" % n, lambda s=s: s.getXMLDesc(0))
        ck("snap.%s.parent" % n, lambda s=s: s.getParent(0).getName())
        ck("snap.%s.facts" % n, lambda s=s: [s.isCurrent(0), s.hasMetadata(0), s.numChildren(0),
                                             sorted(x.getName() for x in s.listAllChildren(0))])
    ck("snap.children.desc", lambda: sorted(x.getName() for x in d.snapshotLookupByName("s1", 0).listAllChildren(
        L.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)))
    domain_listings(c, "snap.has")
    ck("snap.revert.s1", lambda: d.revertToSnapshot(d.snapshotLookupByName("s1", 0), 0))
    ck("snap.reverted.s1", lambda: [d.state(0), d.snapshotCurrent(0).getName()])
    ck("snap.revert.s2", lambda: d.revertToSnapshot(d.snapshotLookupByName("s2", 0), 0))
    ck("snap.reverted.s2", lambda: [d.state(0), d.snapshotCurrent(0).getName()])
    ck("snap.undefine.withSnapshots", lambda: d.undefine())
    ck("snap.delete.s2.children", lambda: d.snapshotLookupByName("s2", 0).delete(L.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN))
    ck("snap.after.delete", lambda: [sorted(s.getName() for s in d.listAllSnapshots(0)), d.hasCurrentSnapshot(0)])
    ck("snap.lookup.gone", lambda: d.snapshotLookupByName("s3", 0))
    ck("snap.delete.s1", lambda: d.snapshotLookupByName("s1", 0).delete(0))
    ck("snap.destroy", lambda: d.destroy())
    ck("d1.undefine", lambda: d.undefine())
    ck("d1.lookup.gone", lambda: c.lookupByName("pyd1"))


NET_LIST_FLAGS = ["ACTIVE", "INACTIVE", "PERSISTENT", "TRANSIENT", "AUTOSTART", "NO_AUTOSTART"]


def networks(c):
    def listings(tag):
        ck(tag + ".listAll", lambda: names(c.listAllNetworks(0)))
        for f in NET_LIST_FLAGS:
            flag = getattr(L, "VIR_CONNECT_LIST_NETWORKS_" + f)
            ck("%s.listAll.%s" % (tag, f), lambda flag=flag: names(c.listAllNetworks(flag)))
        ck(tag + ".lists", lambda: [sorted(c.listNetworks()), sorted(c.listDefinedNetworks()),
                                    c.numOfNetworks(), c.numOfDefinedNetworks()])

    listings("net.initial")
    ck("net.default.xml", lambda: c.networkLookupByName("default").XMLDesc(0))
    ck("net.default.facts", lambda: (lambda n: [n.isActive(), n.isPersistent(), n.autostart(), n.bridgeName(),
                                                n.UUIDString()])(c.networkLookupByName("default")))
    ck("net.default.leases", lambda: c.networkLookupByName("default").DHCPLeases())
    ck("net.n1.define", lambda: c.networkDefineXML(NET_XML % ("pynet", UUID_N1, "pybr0", "01", 150, 150, 150)))
    ck("net.n1.xml.inactive", lambda: c.networkLookupByName("pynet").XMLDesc(0))
    ck("net.n1.dup", lambda: c.networkDefineXML(NET_XML % ("pynet", UUID_N2, "pybr1", "02", 151, 151, 151)))
    n = c.networkLookupByName("pynet")
    ck("net.n1.create", lambda: n.create())
    ck("net.n1.create.again", lambda: n.create())
    ck("net.n1.facts", lambda: [n.isActive(), n.isPersistent(), n.autostart(), n.bridgeName(), n.UUIDString()])
    ck("net.n1.setAutostart", lambda: n.setAutostart(1))
    listings("net.n1.active")
    ck("net.n1.xml", lambda: n.XMLDesc(0))
    ck("net.n1.byUUID", lambda: c.networkLookupByUUIDString(UUID_N1).name())
    ck("net.n2.createXML", lambda: c.networkCreateXML(NET_XML % ("pynet2", UUID_N2, "pybr2", "03", 152, 152, 152)))
    listings("net.n2.transient")
    ck("net.n2.destroy", lambda: c.networkLookupByName("pynet2").destroy())
    ck("net.n2.gone", lambda: c.networkLookupByName("pynet2"))
    ck("net.n1.undefine.active", lambda: n.undefine())
    ck("net.n1.after.undefine", lambda: [n.isActive(), n.isPersistent()])
    ck("net.n1.destroy", lambda: n.destroy())
    ck("net.n1.undefine", lambda: n.undefine())
    ck("net.n1.gone", lambda: c.networkLookupByName("pynet"))
    ck("net.lookup.nope", lambda: c.networkLookupByName("nope"))
    ck("net.define.bad", lambda: c.networkDefineXML("<network><name>x</name><forward mode='bogus'/></network>"))
    listings("net.final")


POOL_LIST_FLAGS = ["ACTIVE", "INACTIVE", "PERSISTENT", "TRANSIENT", "AUTOSTART", "NO_AUTOSTART", "DIR"]


def pools(c):
    def listings(tag):
        ck(tag + ".listAll", lambda: names(c.listAllStoragePools(0)))
        for f in POOL_LIST_FLAGS:
            flag = getattr(L, "VIR_CONNECT_LIST_STORAGE_POOLS_" + f)
            ck("%s.listAll.%s" % (tag, f), lambda flag=flag: names(c.listAllStoragePools(flag)))

    listings("pool.initial")
    dp = c.storagePoolLookupByName("default-pool")
    ck("pool.default.xml", lambda: dp.XMLDesc(0))
    ck("pool.default.info", lambda: dp.info())
    ck("pool.default.vols", lambda: names(dp.listAllVolumes(0)))
    ck("pool.p1.define", lambda: c.storagePoolDefineXML(POOL_XML, 0))
    p = c.storagePoolLookupByName("pypool")
    ck("pool.p1.xml.inactive", lambda: p.XMLDesc(0))
    ck("pool.p1.vol.inactive", lambda: p.createXML(VOL_XML % ("v0", 10), 0))
    ck("pool.p1.build", lambda: p.build(0))
    ck("pool.p1.create", lambda: p.create(0))
    ck("pool.p1.create.again", lambda: p.create(0))
    ck("pool.p1.facts", lambda: [p.isActive(), p.isPersistent(), p.autostart(), p.UUIDString(), p.info()])
    ck("pool.p1.setAutostart", lambda: p.setAutostart(1))
    listings("pool.p1.active")
    ck("pool.v1.create", lambda: p.createXML(VOL_XML % ("v1.img", 64), 0))
    ck("pool.v1.dup", lambda: p.createXML(VOL_XML % ("v1.img", 64), 0))
    v = p.storageVolLookupByName("v1.img")
    ck("pool.v1.facts", lambda: [v.name(), v.key(), v.path(), v.info()])
    ck("pool.v1.xml", lambda: v.XMLDesc(0))
    ck("pool.v1.byPath", lambda: c.storageVolLookupByPath(v.path()).name())
    ck("pool.v1.byKey", lambda: c.storageVolLookupByKey(v.key()).name())
    ck("pool.v1.poolOf", lambda: v.storagePoolLookupByVolume().name())
    ck("pool.v2.clone", lambda: p.createXMLFrom(VOL_XML % ("v2.img", 64), v, 0))
    ck("pool.v1.resize", lambda: v.resize(128 * 1024 * 1024, 0))
    ck("pool.v1.resize.shrink", lambda: v.resize(1024, 0))
    ck("pool.v1.info.resized", lambda: v.info())
    ck("pool.vols", lambda: [names(p.listAllVolumes(0)), p.numOfVolumes(), sorted(p.listVolumes())])
    ck("pool.p1.info.used", lambda: p.info())
    ck("pool.p1.refresh", lambda: p.refresh(0))
    ck("pool.v1.delete", lambda: v.delete(0))
    ck("pool.v1.gone", lambda: p.storageVolLookupByName("v1.img"))
    ck("pool.v2.delete", lambda: p.storageVolLookupByName("v2.img").delete(0))
    ck("pool.p1.undefine.active", lambda: p.undefine())
    ck("pool.p1.destroy", lambda: p.destroy())
    ck("pool.p1.delete", lambda: p.delete(0))
    ck("pool.p1.undefine", lambda: p.undefine())
    ck("pool.p1.gone", lambda: c.storagePoolLookupByName("pypool"))
    ck("pool.lookup.nope", lambda: c.storagePoolLookupByName("nope"))
    ck("pool.define.bad", lambda: c.storagePoolDefineXML("<pool type='dir'><name>x</name></pool>", 0))
    listings("pool.final")


def errors(c, ro):
    ck("err.lookup.name", lambda: c.lookupByName("nope"))
    ck("err.lookup.uuid", lambda: c.lookupByUUIDString("00000000-0000-0000-0000-000000000001"))
    ck("err.lookup.id", lambda: c.lookupByID(9999))
    ck("err.define.syntax", lambda: c.defineXML("<domain type='test'><name>x</name>"))
    ck("err.define.noname", lambda: c.defineXML("<domain type='test'><memory>1024</memory></domain>"))
    ck("err.define.badtype", lambda: c.defineXML(
        "<domain type='bogus'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>"))
    ck("err.test.create.active", lambda: c.lookupByName("test").create())
    ck("err.snapshot.nope", lambda: c.lookupByName("test").snapshotLookupByName("nope", 0))
    ck("ro.listAll", lambda: names(ro.listAllDomains(0)))
    ck("ro.xml", lambda: ro.lookupByName("test").XMLDesc(0))
    ck("ro.xml.secure", lambda: ro.lookupByName("test").XMLDesc(L.VIR_DOMAIN_XML_SECURE))
    ck("ro.define", lambda: ro.defineXML(DOM_XML % ("pyro", UUID_T1, "ro", "07")))
    ck("ro.suspend", lambda: ro.lookupByName("test").suspend())
    ck("ro.net.destroy", lambda: ro.networkLookupByName("default").destroy())
    ck("ro.pool.refresh", lambda: ro.storagePoolLookupByName("default-pool").refresh(0))


def shape(v):
    """Keys and types of a time-dependent answer (the test driver derives these from the clock)."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [shape(x) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    return type(v).__name__


def typed(c):
    # Calls whose answers travel as typed parameters, arrays and structs on the wire.
    d = c.lookupByName("test")
    ck("typed.sched", lambda: [d.schedulerType(), d.schedulerParameters()])
    ck("typed.sched.flags", lambda: d.schedulerParametersFlags(L.VIR_DOMAIN_AFFECT_LIVE))
    ck("typed.sched.set", lambda: d.setSchedulerParameters({"weight": 70}))
    ck("typed.sched.after", lambda: d.schedulerParameters())
    ck("typed.sched.reset", lambda: d.setSchedulerParameters({"weight": 50}))
    ck("typed.blkio", lambda: d.blkioParameters(0))
    ck("typed.memory", lambda: d.memoryParameters(0))
    ck("typed.numa", lambda: d.numaParameters(0))
    ck("typed.iotune", lambda: d.blockIoTune("vda", 0))
    ck("typed.perf", lambda: d.perfEvents(0))
    ck("typed.allStats", lambda: [[x[0].name(), x[1]] for x in c.getAllDomainStats(L.VIR_DOMAIN_STATS_STATE, 0)])
    ck("typed.memoryStats", lambda: shape(d.memoryStats()))
    ck("typed.cpuStats.total", lambda: shape(d.getCPUStats(True)))
    ck("typed.cpuStats.percpu", lambda: shape(d.getCPUStats(False)))
    ck("typed.vcpus", lambda: [[v[:2] for v in d.vcpus()[0]], d.vcpus()[1]])
    ck("typed.vcpuPin", lambda: d.vcpuPinInfo(0))
    ck("typed.emulatorPin", lambda: d.emulatorPinInfo(0))
    ck("typed.time", lambda: shape(d.getTime()))
    ck("typed.job", lambda: d.jobInfo())
    ck("typed.securityLabel", lambda: d.securityLabel())
    ck("typed.securityModel", lambda: c.getSecurityModel())
    ck("typed.cpuMap", lambda: c.getCPUMap(0))
    ck("typed.nodeCpuStats", lambda: shape(c.getCPUStats(-1, 0)))
    ck("typed.nodeMemStats", lambda: c.getMemoryStats(-1, 0))
    ck("typed.interfaces", lambda: names(c.listAllInterfaces(0)))
    ck("typed.nodeDevices", lambda: names(c.listAllDevices(0)))
    ck("typed.sysinfo", lambda: c.getSysinfo(0))
    ck("typed.hostname", lambda: d.hostname(0))
    ck("typed.blockInfo", lambda: d.blockInfo("/guest/diskimage1"))
    ck("typed.blockStats", lambda: shape(d.blockStats("vda")))
    ck("typed.blockStats.bad", lambda: d.blockStats("nope"))
    ck("typed.interfaceStats", lambda: shape(d.interfaceStats("testnet0")))
    ck("typed.launchSecurity", lambda: d.launchSecurityInfo(0))
    ck("typed.iothreads", lambda: d.ioThreadInfo(0))
    ck("typed.diskErrors", lambda: d.diskErrors(0))
    ck("typed.fstrim", lambda: d.fSTrim(None, 0, 0))
    ck("typed.fstrim.mount", lambda: d.fSTrim("/boot", 1024, 0))
    ck("typed.sendProcessSignal", lambda: d.sendProcessSignal(1, 15, 0))
    ck("typed.sendProcessSignal.bad", lambda: d.sendProcessSignal(2, 99, 0))
    ck("typed.addIOThread", lambda: d.addIOThread(7, L.VIR_DOMAIN_AFFECT_LIVE))
    ck("typed.setIOThreadParams", lambda: d.setIOThreadParams(7, {"poll_max_ns": 32768, "poll_grow": 2},
                                                              L.VIR_DOMAIN_AFFECT_LIVE))
    ck("typed.setIOThreadParams.bad", lambda: d.setIOThreadParams(8, {"poll_max_ns": 1}, 0))
    ck("typed.iothreadStats", lambda: [x[1] for x in c.getAllDomainStats(L.VIR_DOMAIN_STATS_IOTHREAD, 0)])
    ck("typed.delIOThread", lambda: d.delIOThread(7, L.VIR_DOMAIN_AFFECT_LIVE))
    ck("typed.controlInfo", lambda: d.controlInfo(0))
    ck("typed.freePages", lambda: c.getFreePages([4, 2048], 0, 1, 0))
    ck("typed.setMemoryParams", lambda: d.setMemoryParameters({"soft_limit": 1048576}, L.VIR_DOMAIN_AFFECT_LIVE))
    ck("typed.memory.after", lambda: d.memoryParameters(0))
    ck("typed.setMemoryParams.reset", lambda: d.setMemoryParameters({"soft_limit": 9007199254740991},
                                                                     L.VIR_DOMAIN_AFFECT_LIVE))


def wait_sentinel(c):
    # Events are delivered in order on one connection: once the sentinel's undefine arrives,
    # every earlier event has been seen.
    c.defineXML(DOM_XML % ("zz-sentinel", "9695eb01-f6a4-8304-79aa-97f2502e1939", "s", "08")).undefine()
    deadline = time.time() + 10
    while time.time() < deadline:
        if any(e[:2] == ["domain", "zz-sentinel"] and e[2] == L.VIR_DOMAIN_EVENT_UNDEFINED for e in events):
            return True
        time.sleep(0.01)
    return False


def main():
    c = L.open(sys.argv[1])
    ro = L.openReadOnly(sys.argv[2])
    threading.Thread(target=run_loop, daemon=True).start()
    cbs = register_events(c)
    connection(c)
    domain_listings(c, "initial")
    domain_facts(c, "test", "test")
    lifecycle(c)
    snapshots(c)
    networks(c)
    pools(c)
    errors(c, ro)
    typed(c)
    domain_listings(c, "final")
    domain_facts(c, "test", "test.final")
    delivered = wait_sentinel(c)
    for cb in cbs[:2]:
        c.domainEventDeregisterAny(cb)
    c.networkEventDeregisterAny(cbs[2])
    c.storagePoolEventDeregisterAny(cbs[3])
    for kind in ["domain", "domain-reboot", "network", "pool"]:
        checks.append(["events." + kind, [e for e in events if e[0] == kind]])
    checks.append(["events.order", [e[:2] for e in events]])
    checks.append(["events.sentinel", delivered])
    ro.close()
    c.close()
    print(json.dumps({"checks": checks}))


if __name__ == "__main__":
    main()
