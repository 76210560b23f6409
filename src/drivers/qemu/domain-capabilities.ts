// `virsh domcapabilities` for the QEMU driver (domaincaps.rng): what this binary and tsvirt's
// argv builder can do together, so virt-install/virt-manager only offer what will start. Pure.
import { escapeXml, formatElement } from "../../xml/index.js";
import type { QemuCaps, QemuMachine } from "./capabilities.js";
import { hostModelCpu, tcgCpuModels } from "./host-model.js";

function en(name: string, values: string[], ind: string): string {
  if (values.length === 0) return `${ind}<enum name='${name}'/>\n`;
  return `${ind}<enum name='${name}'>\n${values.map((v) => `${ind}  <value>${escapeXml(v)}</value>\n`).join("")}${ind}</enum>\n`;
}

function block(tag: string, supported: boolean, inner: string, attrs = "", ind = "    "): string {
  if (!supported || inner === "") return `${ind}<${tag}${attrs} supported='${supported ? "yes" : "no"}'/>\n`;
  return `${ind}<${tag}${attrs} supported='yes'>\n${inner}${ind}</${tag}>\n`;
}

export function formatDomainCapabilities(
  caps: QemuCaps,
  machine: QemuMachine,
  virtType: "qemu" | "kvm",
): string {
  const q35 = machine.name.startsWith("pc-q35");
  const has = (dev: string) => caps.devices.includes(dev);
  const kvm = virtType === "kvm";
  let s = "<domainCapabilities>\n";
  s += `  <path>${escapeXml(caps.binary)}</path>\n`;
  s += `  <domain>${virtType}</domain>\n`;
  s += `  <machine>${escapeXml(machine.name)}</machine>\n`;
  s += `  <arch>${caps.arch === "i386" ? "i686" : caps.arch}</arch>\n`;
  s += `  <vcpu max='${machine.cpuMax}'/>\n`;
  s += "  <iothreads supported='no'/>\n";
  s +=
    "  <os supported='yes'>\n" +
    en("firmware", [], "    ") +
    block(
      "loader",
      true,
      en("type", ["rom"], "      ") +
        en("readonly", ["yes", "no"], "      ") +
        en("secure", ["no"], "      "),
    ) +
    "  </os>\n";
  s += "  <cpu>\n";
  s += block(
    "mode",
    kvm,
    en("hostPassthroughMigratable", ["on", "off"], "      "),
    " name='host-passthrough'",
  );
  s += block("mode", true, en("maximumMigratable", ["on", "off"], "      "), " name='maximum'");
  // TCG: the host-model CPU libvirt computes from QEMU's 'max' CPU, and the models it can name
  const host = kvm
    ? undefined
    : hostModelCpu(
        caps.hostCpu ?? undefined,
        caps.cpuModels.map((m) => m.name),
      );
  if (host) {
    s += "    <mode name='host-model' supported='yes'>\n";
    for (const k of host.children) if (k.kind === "element") s += formatElement(k, 3);
    s += "    </mode>\n";
  } else s += "    <mode name='host-model' supported='no'/>\n";
  const tcgModels = kvm ? undefined : tcgCpuModels(caps);
  s += "    <mode name='custom' supported='yes'>\n";
  if (tcgModels) {
    const deprecated = new Set(caps.cpuModels.filter((m) => m.deprecated).map((m) => m.name));
    for (const m of tcgModels) {
      const dep = deprecated.has(m.name) ? " deprecated='yes'" : "";
      s += `      <model usable='${m.usable ? "yes" : "no"}'${dep} vendor='${m.vendor}'>${escapeXml(m.name)}</model>\n`;
    }
  } else {
    const models = caps.cpuModels.filter((m) => m.name !== "host" && m.name !== "max" && m.name !== "base");
    for (const m of models) {
      const dep = m.deprecated ? " deprecated='yes'" : "";
      // Usability is not known without the probe; libvirt says 'unknown' in that case too.
      s += `      <model usable='unknown'${dep} vendor='unknown'>${escapeXml(m.name)}</model>\n`;
    }
  }
  s += "    </mode>\n  </cpu>\n";
  s += "  <devices>\n";
  const buses = ["scsi", "virtio", "usb", ...(q35 ? ["sata"] : ["ide"])];
  s += block(
    "disk",
    true,
    en("diskDevice", ["disk", "cdrom"], "      ") +
      en("bus", buses, "      ") +
      en("model", ["virtio"], "      "),
  );
  // SPICE: the binary was built with it (QMP has query-spice) and the argv builder writes -spice.
  // virt-install picks SPICE (with qxl, a spicevmc channel and USB redirection) when offered.
  const spice = caps.commands.includes("query-spice");
  s += block("graphics", true, en("type", ["vnc", ...(spice ? ["spice"] : [])], "      "));
  // In libvirtd's order, with 'none' where it puts it (after the display adapters it probes first).
  const video = [
    ["vga", "VGA"],
    ["cirrus", "cirrus-vga"],
    ["qxl", "qxl-vga"],
    ["virtio", "virtio-vga"],
    ["none", ""],
    ["bochs", "bochs-display"],
    ["ramfb", "ramfb"],
  ]
    .filter(([m, dev]) => m === "none" || has(dev!))
    .map(([m]) => m!);
  s += block("video", true, en("modelType", video, "      "));
  s += "    <hostdev supported='no'/>\n";
  s += block(
    "rng",
    has("virtio-rng-pci"),
    en("model", ["virtio"], "      ") + en("backendModel", ["random"], "      "),
  );
  s += block("redirdev", has("usb-redir"), en("bus", ["usb"], "      "));
  s += block("channel", true, en("type", ["pty", "unix", ...(spice ? ["spicevmc"] : [])], "      "));
  s += "  </devices>\n";
  s += "  <features>\n";
  s += "    <gic supported='no'/>\n";
  s += "    <vmcoreinfo supported='no'/>\n";
  s += "    <genid supported='no'/>\n";
  s += "    <sev supported='no'/>\n";
  s += "  </features>\n";
  return `${s}</domainCapabilities>\n`;
}
