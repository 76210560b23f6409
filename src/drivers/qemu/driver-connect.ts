// Connection-level slots of the QEMU driver (type, versions, host info, capabilities, events)
// and the virConnectListAllDomains filter; split from driver.ts to keep each file small. The
// capabilities documents and domxml-to-native load their modules (the QEMU command line, host CPU
// models) with their first call: a daemon that never serves them keeps them out of its heap.
import { readFileSync } from "node:fs";
import { cpus, hostname, totalmem } from "node:os";
import type { HypervisorDriver } from "../../driver/index.js";
import { VIR_CONNECT_LIST_DOMAINS as L, VIR_DOMAIN_STATE } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { archOfBinary, defaultMachine, type QemuCaps, resolveMachine } from "./capabilities.js";
import { isActive, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

/** The last "cpu MHz" of /proc/cpuinfo, as virHostCPUGetInfoPopulateLinux reads it (0: none). */
export function hostCpuMhz(cpuinfo: string): number {
  let mhz = 0;
  for (const line of cpuinfo.split("\n")) {
    const m = /^cpu MHz\s*:\s*(\d+)/.exec(line);
    if (m) mhz = Number(m[1]);
  }
  return mhz;
}

function cpuinfoMhz(): number {
  try {
    return hostCpuMhz(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return 0;
  }
}

/** tsvirt reports libvirt 9.0.0's library version (major*1e6 + minor*1e3 + micro). */
const LIB_VERSION = 9_000_000;

export function connectSlots(st: QemuDriverState): Partial<HypervisorDriver> {
  return {
    async connectGetType() {
      return "QEMU";
    },
    async connectGetVersion() {
      const bin = st.emulators[0];
      if (!bin) return 0;
      return (await st.caps.get(bin)).versionNumber;
    },
    async connectGetLibVersion() {
      return LIB_VERSION;
    },
    async connectGetHostname() {
      return hostname();
    },
    async connectGetURI() {
      return st.opts.uri;
    },
    async connectGetMaxVcpus() {
      const bin = st.emulators[0];
      if (!bin) return 1;
      const caps = await st.caps.get(bin);
      return Math.max(...caps.machines.map((m) => m.cpuMax));
    },
    async connectGetCapabilities() {
      const all: QemuCaps[] = [];
      for (const bin of st.emulators) {
        try {
          all.push(await st.caps.get(bin));
        } catch {
          // A binary that cannot be probed offers no guests, as in libvirt.
        }
      }
      const [{ formatCapabilitiesXML }, { qemuHostCapabilities }] = await Promise.all([
        import("../../conf/capabilities/index.js"),
        import("./host-capabilities.js"),
      ]);
      return formatCapabilitiesXML(qemuHostCapabilities(all));
    },
    async connectDomainXMLToNative(nativeFormat, domainXml, flags) {
      if (flags !== 0) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `unsupported flags (0x${flags.toString(16)}) in function qemuConnectDomainXMLToNative`,
        );
      }
      const { checkNativeFormat, domainXMLToNative } = await import("./domain-xml-to-native.js");
      checkNativeFormat(nativeFormat);
      const { def, caps } = await st.parse(domainXml);
      return domainXMLToNative(def, caps, nativeFormat);
    },
    async connectGetDomainCapabilities(emulatorbin, arch, machine, virttype, flags) {
      if (flags !== 0) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `unsupported flags (0x${flags.toString(16)}) in function qemuConnectGetDomainCapabilities`,
        );
      }
      const bin =
        emulatorbin ??
        st.emulators.find(
          (b) =>
            archOfBinary(b) === (arch ?? st.defaultArch()) || (arch === "i686" && archOfBinary(b) === "i386"),
        );
      if (!bin)
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `unable to find any emulator to serve '${arch ?? st.defaultArch()}' architecture`,
        );
      const caps = await st.caps.get(bin);
      const type = virttype ?? (caps.kvm.usable ? "kvm" : "qemu");
      if (type !== "qemu" && type !== "kvm") {
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `unknown virttype: ${type}`);
      }
      if (type === "kvm" && !caps.kvm.usable) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `KVM is not supported by '${bin}' on this host`,
        );
      }
      const m = machine
        ? resolveMachine(caps, machine)
        : (resolveMachine(caps, "pc") ?? defaultMachine(caps));
      if (!m)
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `the machine '${machine}' is not supported by emulator '${bin}'`,
        );
      const { formatDomainCapabilities } = await import("./domain-capabilities.js");
      return formatDomainCapabilities(caps, m, type);
    },
    async nodeGetSecurityModel() {
      return { model: "none", doi: "0" };
    },
    async connectIsAlive() {
      return true;
    },
    async connectIsSecure() {
      return true;
    },
    async connectIsEncrypted() {
      return false;
    },
    async nodeGetInfo() {
      const c = cpus();
      return {
        model: process.arch === "x64" ? "x86_64" : process.arch,
        memory: Math.floor(totalmem() / 1024),
        cpus: c.length,
        // as libvirt: /proc/cpuinfo's "cpu MHz" (Node's speed is cpufreq's, 0 in most VMs)
        mhz: cpuinfoMhz(),
        nodes: 1,
        sockets: 1,
        cores: c.length,
        threads: 1,
      };
    },
    async connectDomainEventRegisterAny(dom, eventId, cb) {
      return st.events.register(eventId, dom ? dom.uuid : null, cb);
    },
    async connectDomainEventDeregisterAny(id) {
      if (!st.events.deregister(id)) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `could not find event callback ${id} for deletion`,
        );
      }
    },
  };
}

/** virConnectListAllDomains flag groups: within a group any bit matches, groups combine with AND. */
export function listFilter(
  d: QemuDomain,
  flags: number,
  hasManagedSave: (d: QemuDomain) => boolean = () => false,
): boolean {
  const f = flags >>> 0;
  const active = isActive(d);
  if (f & (L.ACTIVE | L.INACTIVE) && !((f & L.ACTIVE && active) || (f & L.INACTIVE && !active))) return false;
  if (
    f & (L.PERSISTENT | L.TRANSIENT) &&
    !((f & L.PERSISTENT && d.persistent) || (f & L.TRANSIENT && !d.persistent))
  )
    return false;
  const st = d.state;
  const stateBits = L.RUNNING | L.PAUSED | L.SHUTOFF | L.OTHER;
  if (f & stateBits) {
    const ok =
      (f & L.RUNNING && st === VIR_DOMAIN_STATE.RUNNING) ||
      (f & L.PAUSED && st === VIR_DOMAIN_STATE.PAUSED) ||
      (f & L.SHUTOFF && st === VIR_DOMAIN_STATE.SHUTOFF) ||
      (f & L.OTHER &&
        st !== VIR_DOMAIN_STATE.RUNNING &&
        st !== VIR_DOMAIN_STATE.PAUSED &&
        st !== VIR_DOMAIN_STATE.SHUTOFF);
    if (!ok) return false;
  }
  if (
    f & (L.AUTOSTART | L.NO_AUTOSTART) &&
    !((f & L.AUTOSTART && d.autostart) || (f & L.NO_AUTOSTART && !d.autostart))
  )
    return false;
  if (f & (L.MANAGEDSAVE | L.NO_MANAGEDSAVE)) {
    const saved = hasManagedSave(d);
    if (!((f & L.MANAGEDSAVE && saved) || (f & L.NO_MANAGEDSAVE && !saved))) return false;
  }
  if (f & L.HAS_SNAPSHOT) return false;
  return true;
}
