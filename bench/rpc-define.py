#!/usr/bin/python3
# RPC benchmark client (python-libvirt 9.0, run by /usr/bin/python3): against one daemon URI,
# time the cheapest round trip (getLibVersion, the client's floor), define N domains, list them
# (median of several listAllDomains), fetch each XMLDesc, read the daemon's RSS with N defined,
# undefine all. Prints one JSON object; bench/rpc-define.ts drives it.
# Usage: rpc-define.py URI DAEMON_PID [N] [LIST_REPEATS] [VIRT_TYPE: test (default) or qemu]
import json
import os
import statistics
import sys
import time

import libvirt

DOMAIN_XML = """<domain type='{virt}'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/bench/{name}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><mac address='52:54:00:{m1:02x}:{m2:02x}:{m3:02x}'/></interface>
  </devices>
</domain>
"""


def rss_kib(pid, field="VmRSS"):
    # VmRSS = RssAnon (heap, stacks) + RssFile (the program's mapped binary and libraries) + RssShmem
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def cpu_ms(pid):
    # utime + stime of the daemon, fields 14 and 15 of /proc/PID/stat, in clock ticks.
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def main():
    uri = sys.argv[1]
    pid = int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 15
    virt = sys.argv[5] if len(sys.argv) > 5 else "test"
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(uri)
    prefix = "bench-%d-" % int(time.time() * 1000 % 1000000)
    names = ["%s%04d" % (prefix, i) for i in range(n)]
    xmls = [DOMAIN_XML.format(virt=virt, name=nm, m1=(i >> 16) & 255, m2=(i >> 8) & 255, m3=i & 255)
            for i, nm in enumerate(names)]
    before = len(conn.listAllDomains(0))
    rss_before = rss_kib(pid)

    # The client's floor: the cheapest call there is (no driver work), one round trip each.
    floor_n = max(n * 2, 200)
    t = time.perf_counter()
    for _ in range(floor_n):
        conn.getLibVersion()
    floor_s = time.perf_counter() - t

    # One define + undefine before timing: a daemon's first define of a virt type may load or
    # probe the emulator's capabilities (libvirtd does it when the connection opens, tsvirtd on
    # first use; both keep the result on disk), which is not the per-define cost measured here.
    warm = DOMAIN_XML.format(virt=virt, name=prefix + "warmup", m1=255, m2=255, m3=255)
    conn.defineXML(warm).undefine()

    c0 = cpu_ms(pid)
    t = time.perf_counter()
    doms = [conn.defineXML(x) for x in xmls]
    define_s = time.perf_counter() - t
    define_cpu = cpu_ms(pid) - c0

    total = len(conn.listAllDomains(0))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        conn.listAllDomains(0)
        samples.append((time.perf_counter() - t) * 1000)
    inactive = []
    for _ in range(repeats):
        t = time.perf_counter()
        conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)
        inactive.append((time.perf_counter() - t) * 1000)

    c0 = cpu_ms(pid)
    t = time.perf_counter()
    xml_bytes = sum(len(d.XMLDesc(0)) for d in doms)
    xml_s = time.perf_counter() - t
    xml_cpu = cpu_ms(pid) - c0

    t = time.perf_counter()
    for nm in names:
        conn.lookupByName(nm)
    lookup_s = time.perf_counter() - t

    rss_defined = rss_kib(pid)
    rss_anon_defined = rss_kib(pid, "RssAnon")

    t = time.perf_counter()
    for d in doms:
        d.undefine()
    undefine_s = time.perf_counter() - t
    after = len(conn.listAllDomains(0))
    rss_after = rss_kib(pid)
    conn.close()
    print(json.dumps({
        "n": n,
        "domainsBefore": before,
        "domainsWithDefined": total,
        "domainsAfter": after,
        "floorPerSecond": floor_n / floor_s,
        "defineSeconds": define_s,
        "definePerSecond": n / define_s,
        "defineCpuMsPerOp": define_cpu / n,
        "listMsMedian": statistics.median(samples),
        "listMsMin": min(samples),
        "listInactiveMsMedian": statistics.median(inactive),
        "xmlDescPerSecond": n / xml_s,
        "xmlDescCpuMsPerOp": xml_cpu / n,
        "xmlDescBytes": xml_bytes,
        "lookupPerSecond": n / lookup_s,
        "undefinePerSecond": n / undefine_s,
        "rssKiBBefore": rss_before,
        "rssKiBDefined": rss_defined,
        "rssAnonKiBDefined": rss_anon_defined,
        "rssKiBAfter": rss_after,
    }))


if __name__ == "__main__":
    main()
