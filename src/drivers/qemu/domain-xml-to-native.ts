// `virsh domxml-to-native qemu-argv` (virConnectDomainXMLToNative) as libvirtd 9.0's QEMU driver
// prints it for a domain that is not running: the environment (LC_ALL, PATH, HOME and XDG dirs
// under the domain's private directory `domain--1-<name, 20 chars>`), then the command line of
// the argv builder with libvirt's own additions (its master-key secret object, the RAM backend
// object of a guest without NUMA cells), its monitor socket in the private directory, no
// pidfile, NICs given to QEMU as tap file descriptors, each argument shell-quoted as
// virCommandToString does. `<qemu:env>` variables come after libvirt's own (TZ included), their
// values quoted the same way. Checked against tests/data/qemu-xml2argv/<case>.libvirt-args.
import { applyHostModel } from "./host-model.js";
import type { DomainDef } from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import type { QemuCaps } from "./capabilities.js";
import { buildQemuCommand, clockEnv, qemuCommandlineEnv } from "./command.js";

const LIB_DIR = "/var/lib/libvirt/qemu";

/** virBufferEscapeShell: quoted unless every character is harmless to a shell. */
function shellQuote(s: string): string {
  if (s !== "" && !/[|&;()<> \t\n\r'"`$\\*?[\]#~%{}]/.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** Only QEMU's argv is a native format of this driver (libvirt's text for any other). */
export function checkNativeFormat(nativeFormat: string): void {
  if (nativeFormat !== "qemu-argv") {
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `unsupported config type ${nativeFormat}`);
  }
}

/** The native form of `def` (already parsed and post-parsed with `caps`). */
export function domainXMLToNative(def: DomainDef, caps: QemuCaps, nativeFormat: string): string {
  checkNativeFormat(nativeFormat);
  // the NICs are converted to plain ethernet ones, which keep no per-device boot order
  for (const n of def.devices.interfaces) delete n.boot;
  applyHostModel(def, caps);
  const short = `domain--1-${def.name.slice(0, 20)}`;
  const dir = `${LIB_DIR}/${short}`;
  const taps = def.devices.interfaces.map((n, i) =>
    ["network", "bridge", "ethernet"].includes(n.type) ? `tsvirt-tap${i}` : undefined,
  );
  // a conversion does not probe whether KVM works
  const argv = buildQemuCommand(
    def,
    { ...caps, kvm: { ...caps.kvm, present: true, usable: true } },
    {
      monitorPath: `${dir}/monitor.sock`,
      channelDir: `${LIB_DIR}/channel/target/${short}`,
      memoryDir: `${LIB_DIR}/ram/-1-${def.name.slice(0, 20)}`,
      vncPort: 5900,
      tapNames: taps,
    },
  );
  // the builder gives RAM an explicit backend itself when it has settings (command-memory.ts)
  const numa =
    def.cpu?.children.some((c) => c.kind === "element" && c.name === "numa") === true ||
    argv.some((a) => a.includes('"id":"pc.ram"'));
  const out: string[] = [argv[0]!];
  let fd = 21;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === "-S") {
      out.push(
        a,
        "-object",
        JSON.stringify({
          "qom-type": "secret",
          id: "masterKey0",
          format: "raw",
          file: `${dir}/master-key.aes`,
        }),
      );
      continue;
    }
    if (a === "-machine" && v !== undefined) {
      // libvirt backs guest RAM with an explicit object (per cell with NUMA)
      out.push(a, numa ? v : `${v},memory-backend=pc.ram`);
      i++;
      continue;
    }
    if (a === "-m" && v !== undefined) {
      out.push(a, v);
      if (!numa)
        out.push(
          "-object",
          // the backend has the whole MiB -m names
          JSON.stringify({ "qom-type": "memory-backend-ram", id: "pc.ram", size: Number(v) * 1048576 }),
        );
      i++;
      continue;
    }
    if (a === "-netdev" && v !== undefined) {
      const nd = JSON.parse(v) as { id: string };
      // every NIC becomes a tap libvirt opens and passes as a file descriptor
      out.push(a, JSON.stringify({ type: "tap", fd: String(fd++), id: nd.id }));
      i++;
      continue;
    }
    out.push(a);
  }
  const env = [
    "LC_ALL=C",
    `PATH=${process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}`,
    `HOME=${dir}`,
    `XDG_DATA_HOME=${dir}/.local/share`,
    `XDG_CACHE_HOME=${dir}/.cache`,
    `XDG_CONFIG_HOME=${dir}/.config`,
    ...clockEnv(def).map(([k, v]) => `${k}=${v}`),
  ];
  // <qemu:env> variables follow, in order, their values quoted as the arguments are (an absent
  // value is an empty one)
  const extra = qemuCommandlineEnv(def).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...env, ...extra, ...out.map(shellQuote)].join(" ");
}
