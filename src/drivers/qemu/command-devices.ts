// Controllers, network interfaces, graphics, video, input, balloon and RNG → QEMU options
// (libvirt's qemu_command.c device builders, reduced to the models tsvirt supports).
import type { ControllerDef, DeviceAddress, GenericDevice, GraphicsDef } from "../../conf/domain/index.js";
import type { XmlElement } from "../../xml/index.js";
import {
  attr,
  type BuildContext,
  add,
  addDevice,
  child,
  pciProps,
  textContent,
  unsupported,
} from "./command-util.js";

export interface DeviceRuntime {
  /** Host tap name per interface (by index) for network/bridge/ethernet interfaces. */
  tapNames?: (string | undefined)[];
  /** TCP port chosen for autoport VNC displays. */
  vncPort?: number;
  /**
   * The opened /dev/vhost-vsock for `<vsock>` and the guest CID set on it (an auto CID is only
   * known once acquired). Without them the argv says vhostfd -1 and the XML's CID (0 for auto),
   * as libvirt's domxml-to-native does.
   */
  vsock?: { fd: number; cid: number };
}

function ctrlChildAttr(c: ControllerDef, el: string, k: string): string | undefined {
  const e = c.children.find((x) => x.name === el);
  return e ? attr(e, k) : undefined;
}

/** Controller types in the order libvirt's qemuBuildControllersCommandLine emits them. */
const CONTROLLER_ORDER = ["pci", "usb", "scsi", "ide", "sata", "fdc", "virtio-serial", "ccid"];

export function buildControllers(ctx: BuildContext): void {
  const rank = (t: string) => {
    const i = CONTROLLER_ORDER.indexOf(t);
    return i < 0 ? CONTROLLER_ORDER.length : i;
  };
  const ordered = [...ctx.def.devices.controllers].sort((a, b) => rank(a.type) - rank(b.type));
  for (const c of ordered) {
    switch (c.type) {
      case "pci":
        buildPciController(ctx, c);
        break;
      case "usb": {
        const model = c.model ?? (ctx.q35 ? "qemu-xhci" : "piix3-uhci");
        if (model === "none") break;
        const master = c.children.find((k) => k.name === "master");
        const companion = /^ich9-uhci([123])$/.exec(model);
        if (companion && master) {
          // a UHCI companion of the EHCI controller: its ports are the master bus's, no id of its own
          addDevice(ctx, {
            driver: `ich9-usb-uhci${companion[1]}`,
            masterbus: `usb${c.index === 0 ? "" : c.index}.0`,
            firstport: Number(attr(master, "startport") ?? 0),
            ...pciProps(ctx, c.address),
          });
          break;
        }
        const driver = {
          "qemu-xhci": "qemu-xhci",
          "nec-xhci": "nec-usb-xhci",
          "piix3-uhci": "piix3-usb-uhci",
          "ich9-ehci1": "ich9-usb-ehci1",
        }[model];
        if (!driver)
          throw unsupported(`USB controller model '${model}' is not supported by the QEMU driver yet`);
        if (c.index !== 0) throw unsupported("only one USB controller is supported");
        const ports = c.attrs.find(([k]) => k === "ports")?.[1];
        // libvirt sizes an XHCI controller's USB2 and USB3 port sets from ports=
        const sized =
          ports !== undefined && driver.endsWith("xhci") ? { p2: Number(ports), p3: Number(ports) } : {};
        addDevice(ctx, { driver, ...sized, id: "usb", ...pciProps(ctx, c.address) });
        ctx.buses.add("usb");
        break;
      }
      case "sata":
        if (!ctx.q35) throw unsupported("SATA is not supported with this QEMU binary or machine type");
        if (c.index === 0)
          ctx.buses.add("ide"); // the q35 built-in AHCI is "ide"
        else {
          addDevice(ctx, { driver: "ahci", id: `sata${c.index}`, ...pciProps(ctx, c.address) });
          ctx.buses.add(`sata${c.index}`);
        }
        break;
      case "fdc":
        if (ctx.q35) throw unsupported("floppy disks are not supported on q35 by the QEMU driver yet");
        break; // the PC's ISA floppy controller is built in
      case "ide":
        if (ctx.q35)
          throw unsupported("IDE controllers are unsupported for this QEMU binary or machine type");
        if (c.index !== 0) throw unsupported("only one IDE controller is supported");
        ctx.buses.add("ide"); // built into PIIX3
        break;
      case "virtio-serial":
        addDevice(ctx, {
          driver: "virtio-serial-pci",
          id: `virtio-serial${c.index}`,
          ...num("max_ports", c.attrs.find(([k]) => k === "ports")?.[1]),
          ...num("vectors", c.attrs.find(([k]) => k === "vectors")?.[1]),
          ...pciProps(ctx, c.address),
        });
        ctx.buses.add(`virtio-serial${c.index}`);
        break;
      case "scsi": {
        const model = c.model ?? "virtio-scsi";
        const driver = { "virtio-scsi": "virtio-scsi-pci", lsilogic: "lsi" }[model];
        if (!driver)
          throw unsupported(`SCSI controller model '${model}' is not supported by the QEMU driver yet`);
        // a virtio-scsi controller's <driver> iothread and queue settings (qemuBuildControllerSCSIDevProps)
        const cd = c.children.find((k) => k.name === "driver");
        const cv = (k: string) => (cd ? attr(cd, k) : undefined);
        const vio = model === "virtio-scsi";
        addDevice(ctx, {
          driver,
          ...(vio && cv("iothread") !== undefined ? { iothread: `iothread${cv("iothread")}` } : {}),
          id: `scsi${c.index}`,
          ...(vio ? num("num_queues", cv("queues")) : {}),
          ...(vio ? num("cmd_per_lun", cv("cmd_per_lun")) : {}),
          ...(vio ? num("max_sectors", cv("max_sectors")) : {}),
          ...pciProps(ctx, c.address),
        });
        ctx.buses.add(`scsi${c.index}`);
        break;
      }
      default:
        throw unsupported(`controller type '${c.type}' is not supported by the QEMU driver yet`);
    }
  }
}

/** The QEMU device of a virtio model: -transitional / -non-transitional variants by name. */
export function virtioModel(base: string, model: string | undefined): string {
  if (model === "virtio-transitional") return `${base}-transitional`;
  if (model === "virtio-non-transitional") return `${base}-non-transitional`;
  return base;
}

/** A virtio device's `<driver iommu ats packed>` as QEMU properties (qemuBuildVirtioOptionsProps). */
export function virtioOptions(drv: XmlElement | undefined): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  if (!drv) return out;
  for (const [k, q] of [
    ["iommu", "iommu_platform"],
    ["ats", "ats"],
    ["packed", "packed"],
  ] as const) {
    const v = attr(drv, k);
    if (v === "on" || v === "off") out[q] = v === "on";
  }
  return out;
}

/** `{ [k]: n }` for a numeric attribute that is set, else nothing. */
function num(k: string, v: string | undefined): Record<string, number> {
  return v === undefined ? {} : { [k]: Number(v) };
}

function buildPciController(ctx: BuildContext, c: ControllerDef): void {
  const model = c.model ?? (c.index === 0 ? (ctx.q35 ? "pcie-root" : "pci-root") : undefined);
  if (c.index === 0) {
    if (model !== (ctx.q35 ? "pcie-root" : "pci-root")) {
      throw unsupported(
        `PCI controller 0 must be '${ctx.q35 ? "pcie-root" : "pci-root"}' on this machine type`,
      );
    }
    return; // built into the machine
  }
  const id = `pci.${c.index}`;
  const addr = pciProps(ctx, c.address);
  switch (model) {
    case "pcie-root-port": {
      if (!ctx.q35) throw unsupported("pcie-root-port needs a PCIe machine type");
      const port = Number(ctrlChildAttr(c, "target", "port") ?? 0x10 + c.index - 1);
      const chassis = Number(ctrlChildAttr(c, "target", "chassis") ?? c.index);
      addDevice(ctx, { driver: "pcie-root-port", port, chassis, id, ...addr });
      break;
    }
    case "pci-bridge": {
      const chassis = Number(ctrlChildAttr(c, "target", "chassisNr") ?? c.index);
      addDevice(ctx, { driver: "pci-bridge", chassis_nr: chassis, id, ...addr });
      break;
    }
    case "pcie-to-pci-bridge":
      addDevice(ctx, { driver: "pcie-pci-bridge", id, ...addr });
      break;
    case "dmi-to-pci-bridge":
      addDevice(ctx, { driver: "i82801b11-bridge", id, ...addr });
      break;
    default:
      throw unsupported(`PCI controller model '${model}' is not supported by the QEMU driver yet`);
  }
}

const NIC_MODELS: Record<string, string> = {
  virtio: "virtio-net-pci",
  "virtio-transitional": "virtio-net-pci-transitional",
  "virtio-non-transitional": "virtio-net-pci-non-transitional",
  e1000: "e1000",
  e1000e: "e1000e",
  rtl8139: "rtl8139",
  vmxnet3: "vmxnet3",
  ne2k_pci: "ne2k_pci",
  pcnet: "pcnet",
};

export function buildInterfaces(ctx: BuildContext, rt: DeviceRuntime): void {
  ctx.def.devices.interfaces.forEach((n, i) => {
    const netdev: Record<string, unknown> = { type: "user", id: `hostnet${i}` };
    switch (n.type) {
      case "user":
        break;
      case "network":
      case "bridge":
      case "ethernet": {
        const ifname = rt.tapNames?.[i] ?? (n.type === "ethernet" ? n.target : undefined);
        if (!ifname)
          throw unsupported(`interface type '${n.type}' needs a host tap device, and none was prepared`);
        Object.assign(netdev, { type: "tap", ifname, script: "no", downscript: "no" });
        break;
      }
      default:
        throw unsupported(`interface type '${n.type}' is not supported by the QEMU driver yet`);
    }
    const model = n.model ?? "rtl8139";
    const driver = NIC_MODELS[model];
    if (!driver) throw unsupported(`interface model '${model}' is not supported by the QEMU driver yet`);
    add(ctx, "-netdev", JSON.stringify(netdev));
    const props: Record<string, unknown> = { driver, netdev: `hostnet${i}`, id: `net${i}`, mac: n.mac };
    const boot = ctx.bootIndex.get(`net:${i}`);
    if (boot !== undefined) props.bootindex = boot;
    Object.assign(props, pciProps(ctx, n.address));
    addDevice(ctx, props);
  });
}

export function buildGraphics(ctx: BuildContext, rt: DeviceRuntime): void {
  const gs = ctx.def.devices.graphics;
  if (gs.length === 0) return; // "-display none" was added with the machine options
  if (gs.length > 1) throw unsupported("only one graphics device is supported by the QEMU driver yet");
  const g = gs[0]!;
  if (g.type === "spice") {
    buildSpice(ctx, g, rt);
    return;
  }
  if (g.type !== "vnc")
    throw unsupported(`graphics type '${g.type}' is not supported by the QEMU driver yet`);
  const ga = (k: string) => g.attrs.find(([n]) => n === k)?.[1];
  const listenEl = g.children.find((e) => e.name === "listen");
  const socket = listenEl && attr(listenEl, "type") === "socket" ? attr(listenEl, "socket") : undefined;
  let value: string;
  // libvirt writes a unix listener as vnc=unix:PATH and gives it no websocket.
  if (socket) value = `vnc=unix:${socket}`;
  else {
    const listen = (listenEl && attr(listenEl, "address")) ?? ga("listen") ?? "127.0.0.1";
    const autoport = ga("autoport") === "yes" || ga("port") === "-1" || ga("port") === undefined;
    const port = autoport ? rt.vncPort : Number(ga("port"));
    if (!autoport && port !== undefined && (port < 5900 || port > 65535))
      throw unsupported("vnc port must be in range [5900,65535]");
    if (port === undefined) throw unsupported("VNC autoport needs a port chosen by the driver");
    if (port < 5900) throw unsupported(`VNC port ${port} is below 5900`);
    value = `${listen.includes(":") ? `[${listen}]` : listen}:${port - 5900}`;
  }
  const ws = ga("websocket");
  if (!socket && ws !== undefined && ws !== "-1") value += `,websocket=${ws}`;
  // the password itself is set over QMP once QEMU runs (set_password, as libvirt does)
  if (ga("passwd") !== undefined) value += ",password=on";
  const audio = ctx.def.devices.other.find((o) => o.kind === "audio");
  if (audio) value += `,audiodev=audio${attr(audio.xml, "id") ?? "1"}`;
  add(ctx, "-vnc", value);
}

/**
 * `-spice` as libvirt 9.0's qemuBuildGraphicsSPICECommandLine writes it: ports, listen address
 * (qemu.conf's spice_listen, 127.0.0.1, by default), no ticketing without a password, then the
 * compression, streaming, mouse, clipboard and file transfer settings, seamless migration.
 */
function buildSpice(ctx: BuildContext, g: GraphicsDef, rt: DeviceRuntime): void {
  const ga = (k: string) => g.attrs.find(([n]) => n === k)?.[1];
  const kid = (n: string) => g.children.find((e) => e.name === n);
  const opts: string[] = [];
  const listen = kid("listen");
  const ltype = listen ? attr(listen, "type") : "address";
  const auto = ga("autoport") === "yes";
  const port = auto ? rt.vncPort : ga("port") !== undefined ? Number(ga("port")) : undefined;
  if (ltype !== "socket" && ltype !== "none" && port !== undefined && port > 0) opts.push(`port=${port}`);
  if (ltype === "socket") opts.push("unix=on", `addr=${qemuEscapeOpt(attr(listen!, "socket") ?? "")}`);
  else if (ltype === "address")
    opts.push(`addr=${(listen && attr(listen, "address")) ?? ga("listen") ?? "127.0.0.1"}`);
  else if (ltype === "network")
    throw unsupported("SPICE listen type 'network' is not supported by the QEMU driver yet");
  // with a password, ticketing stays on and the password is set over QMP after start
  if (ga("passwd") === undefined) opts.push("disable-ticketing=on");
  for (const ch of g.children.filter((e) => e.name === "channel")) {
    const mode = attr(ch, "mode");
    if (mode === "secure") throw unsupported("SPICE TLS channels need TLS, which is disabled");
    if (mode === "insecure") opts.push(`plaintext-channel=${attr(ch, "name")}`);
  }
  const val = (n: string, k = "compression") => {
    const e = kid(n);
    return e ? attr(e, k) : undefined;
  };
  if (val("image")) opts.push(`image-compression=${val("image")}`);
  if (val("jpeg")) opts.push(`jpeg-wan-compression=${val("jpeg")}`);
  if (val("zlib")) opts.push(`zlib-glz-wan-compression=${val("zlib")}`);
  if (val("playback")) opts.push(`playback-compression=${val("playback")}`);
  if (val("streaming", "mode")) opts.push(`streaming-video=${val("streaming", "mode")}`);
  const mouse = val("mouse", "mode");
  if (mouse) opts.push(`agent-mouse=${mouse === "client" ? "on" : "off"}`);
  if (val("clipboard", "copypaste") === "no") opts.push("disable-copy-paste=on");
  if (val("filetransfer", "enable") === "no") opts.push("disable-agent-file-xfer=on");
  const gl = kid("gl");
  if (gl && attr(gl, "enable") === "yes")
    throw unsupported("SPICE OpenGL is not supported by the QEMU driver yet");
  opts.push("seamless-migration=on");
  add(ctx, "-spice", opts.join(","));
}

/** A value inside a QEMU option list: commas doubled. */
function qemuEscapeOpt(v: string): string {
  return v.replace(/,/g, ",,");
}

const VIDEO: Record<string, [string, string?]> = {
  vga: ["VGA"],
  cirrus: ["cirrus-vga"],
  virtio: ["virtio-vga", "virtio-gpu-pci"],
  bochs: ["bochs-display"],
  qxl: ["qxl-vga", "qxl"],
  ramfb: ["ramfb"],
};

export function buildVideo(ctx: BuildContext): void {
  ctx.def.devices.videos.forEach((v, i) => {
    const type = v.model.type === "default" ? "vga" : v.model.type;
    if (type === "none") return;
    const pair = VIDEO[type];
    if (!pair) throw unsupported(`video type '${type}' is not supported by the QEMU driver yet`);
    const primary = i === 0;
    const accel = v.model.children.find((k) => k.name === "acceleration");
    const gl = type === "virtio" && accel !== undefined && attr(accel, "accel3d") === "yes";
    // a 3D virtio GPU is QEMU's -gl variant
    const driver = gl ? (primary ? "virtio-vga-gl" : "virtio-gpu-gl-pci") : primary ? pair[0] : pair[1];
    if (!driver) throw unsupported(`video type '${type}' can only be the primary video device`);
    const props: Record<string, unknown> = { driver, id: `video${i}` };
    const vram = v.model.attrs.find(([k]) => k === "vram")?.[1];
    const heads = v.model.attrs.find(([k]) => k === "heads")?.[1];
    if (driver === "VGA" && vram) props.vgamem_mb = Math.max(1, Math.floor(Number(vram) / 1024));
    if (driver === "bochs-display" && vram) props.vgamem = Number(vram) * 1024;
    if (driver.startsWith("virtio-") && heads) props.max_outputs = Number(heads);
    if (type === "qxl") {
      // sizes in the XML are KiB: RAM and VRAM as bytes, the 64-bit VRAM and VGA memory as MiB
      const kib = (k: string, d: number) => Number(v.model.attrs.find(([n]) => n === k)?.[1] ?? d);
      props.max_outputs = Number(heads ?? 1);
      props.ram_size = kib("ram", 65536) * 1024;
      props.vram_size = kib("vram", 65536) * 1024;
      props.vram64_size_mb = Math.floor(kib("vram64", 0) / 1024);
      props.vgamem_mb = Math.floor(kib("vgamem", 16384) / 1024);
    }
    if (driver !== "ramfb") Object.assign(props, pciProps(ctx, v.address));
    addDevice(ctx, props);
  });
}

/** USB hubs (qemuBuildHubCommandLine). */
export function buildHubs(ctx: BuildContext): void {
  ctx.def.devices.other
    .filter((o) => o.kind === "hub")
    .forEach((o, i) => {
      if (attr(o.xml, "type") !== "usb") throw unsupported("only USB hubs are supported");
      if (!ctx.buses.has("usb")) throw unsupported("a USB hub needs a USB controller");
      const a = genericAddress(o);
      const port = a?.type === "usb" ? a.attrs.find(([k]) => k === "port")?.[1] : undefined;
      addDevice(ctx, {
        driver: "usb-hub",
        id: `hub${i}`,
        bus: "usb.0",
        ...(port !== undefined ? { port } : {}),
      });
    });
}

/** An Intel IOMMU right after -boot (qemuBuildIOMMUCommandLine). */
export function buildIommu(ctx: BuildContext): void {
  const o = ctx.def.devices.other.find((x) => x.kind === "iommu");
  if (!o) return;
  if (attr(o.xml, "model") !== "intel")
    throw unsupported(`IOMMU model '${attr(o.xml, "model")}' is not supported by the QEMU driver yet`);
  const drv = child(o.xml, "driver");
  const v = (k: string) => (drv ? attr(drv, k) : undefined);
  const props: Record<string, unknown> = { driver: "intel-iommu", id: "iommu0" };
  if (v("intremap") !== undefined) props.intremap = v("intremap");
  if (v("caching_mode") !== undefined) props["caching-mode"] = v("caching_mode") === "on";
  if (v("eim") !== undefined) props.eim = v("eim");
  if (v("iotlb") !== undefined) props["device-iotlb"] = v("iotlb") === "on";
  if (v("aw_bits") !== undefined) props["aw-bits"] = Number(v("aw_bits"));
  addDevice(ctx, props);
}

export function buildInputs(ctx: BuildContext): void {
  ctx.def.devices.inputs.forEach((inp, i) => {
    const bus = inp.bus ?? (inp.type === "tablet" ? "usb" : "ps2");
    if (bus === "ps2") {
      if (inp.type === "tablet") throw unsupported("ps2 bus does not support tablet input devices");
      return; // i8042 is built into pc and q35
    }
    let driver: string | undefined;
    if (bus === "usb") {
      if (!ctx.buses.has("usb")) throw unsupported("USB input devices need a USB controller");
      driver = { tablet: "usb-tablet", mouse: "usb-mouse", keyboard: "usb-kbd" }[inp.type];
    } else if (bus === "virtio") {
      driver = { tablet: "virtio-tablet-pci", mouse: "virtio-mouse-pci", keyboard: "virtio-keyboard-pci" }[
        inp.type
      ];
    }
    if (!driver)
      throw unsupported(`input '${inp.type}' on bus '${bus}' is not supported by the QEMU driver yet`);
    const props: Record<string, unknown> = { driver, id: `input${i}` };
    if (bus === "usb") {
      props.bus = "usb.0";
      const port =
        inp.address?.type === "usb" ? inp.address.attrs.find(([k]) => k === "port")?.[1] : undefined;
      if (port !== undefined) props.port = port;
    } else Object.assign(props, pciProps(ctx, inp.address));
    addDevice(ctx, props);
  });
}

export function buildMemballoon(ctx: BuildContext): void {
  const b = ctx.def.devices.memballoon;
  if (!b || b.model === "none") return;
  if (!b.model.startsWith("virtio"))
    throw unsupported(`memballoon model '${b.model}' is not supported by the QEMU driver yet`);
  const props: Record<string, unknown> = {
    driver: virtioModel("virtio-balloon-pci", b.model),
    ...virtioOptions(b.children.find((k) => k.name === "driver")),
    id: "balloon0",
  };
  const on = (k: string) => b.attrs.find(([n]) => n === k)?.[1];
  if (on("autodeflate") !== undefined) props["deflate-on-oom"] = on("autodeflate") === "on";
  if (on("freePageReporting") !== undefined) props["free-page-reporting"] = on("freePageReporting") === "on";
  addDevice(ctx, { ...props, ...pciProps(ctx, b.address) });
}

/** `<audio>` backends as -audiodev (libvirt 9.0 always has one: the post-parse adds type none). */
export function buildAudio(ctx: BuildContext): void {
  for (const o of ctx.def.devices.other) {
    if (o.kind !== "audio") continue;
    const type = attr(o.xml, "type") ?? "none";
    if (type !== "none" && type !== "spice")
      throw unsupported(`audio type '${type}' is not supported by the QEMU driver yet`);
    add(ctx, "-audiodev", JSON.stringify({ id: `audio${attr(o.xml, "id") ?? "1"}`, driver: type }));
  }
}

/** The `<address>` child of a verbatim device, for pciProps. */
function genericAddress(o: GenericDevice): DeviceAddress | undefined {
  const a = child(o.xml, "address");
  if (!a) return undefined;
  return { type: attr(a, "type") ?? "", attrs: a.attrs.filter(([k]) => k !== "type") };
}

const SOUND: Record<string, string> = {
  ac97: "AC97",
  es1370: "ES1370",
  sb16: "sb16",
  ich6: "intel-hda",
  ich9: "ich9-intel-hda",
  usb: "usb-audio",
};
const HDA_CODEC: Record<string, string> = { duplex: "hda-duplex", micro: "hda-micro", output: "hda-output" };

/**
 * `<sound>` cards after the video devices (qemuBuildSoundCommandLine): an HDA controller takes its
 * codecs (hda-duplex when none is given) on its own bus, the other cards the audio backend.
 */
export function buildSound(ctx: BuildContext): void {
  const audio = ctx.def.devices.other.find((o) => o.kind === "audio");
  const audiodev = audio ? `audio${attr(audio.xml, "id") ?? "1"}` : undefined;
  const sounds = ctx.def.devices.other.filter((o) => o.kind === "sound");
  sounds.forEach((o, i) => {
    const model = attr(o.xml, "model") ?? "";
    const driver = SOUND[model];
    if (!driver) throw unsupported(`sound model '${model}' is not supported by the QEMU driver yet`);
    const id = `sound${i}`;
    const hda = driver.endsWith("intel-hda");
    const props: Record<string, unknown> = { driver, id };
    if (!hda && audiodev) props.audiodev = audiodev;
    if (model === "usb") {
      if (!ctx.buses.has("usb")) throw unsupported("a USB sound device needs a USB controller");
      const a = genericAddress(o);
      props.bus = "usb.0";
      const port = a?.type === "usb" ? a.attrs.find(([k]) => k === "port")?.[1] : undefined;
      if (port !== undefined) props.port = port;
    } else if (model !== "sb16") Object.assign(props, pciProps(ctx, genericAddress(o)));
    addDevice(ctx, props);
    if (!hda) return;
    const codecs = o.xml.children.filter((c): c is XmlElement => c.kind === "element" && c.name === "codec");
    const types = codecs.length ? codecs.map((c) => attr(c, "type") ?? "duplex") : ["duplex"];
    types.forEach((t, cad) => {
      const codec = HDA_CODEC[t];
      if (!codec) throw unsupported(`sound codec '${t}' is not supported by the QEMU driver yet`);
      addDevice(ctx, {
        driver: codec,
        id: `${id}-codec${cad}`,
        bus: `${id}.0`,
        cad,
        ...(audiodev ? { audiodev } : {}),
      });
    });
  });
}

/** A `<redirfilter>` as usb-redir's filter string (class:vendor:product:version:allow, -1 for any). */
function redirFilter(f: XmlElement): string {
  const rules = f.children.filter((c): c is XmlElement => c.kind === "element" && c.name === "usbdev");
  return rules
    .map((r) => {
      const h = (k: string) => {
        const v = attr(r, k);
        return v === undefined
          ? "-1"
          : `0x${Number.parseInt(v, 16).toString(16).toUpperCase().padStart(4, "0")}`;
      };
      const cls = attr(r, "class");
      const c = cls === undefined ? "-1" : `0x${Number.parseInt(cls, 16).toString(16).padStart(2, "0")}`;
      const ver = attr(r, "version");
      const v =
        ver === undefined
          ? "-1"
          : (() => {
              const [maj, min] = ver.split(".");
              return `0x${Number(maj).toString(16).padStart(2, "0")}${(min ?? "00").padStart(2, "0")}`;
            })();
      return `${c}:${h("vendor")}:${h("product")}:${v}:${attr(r, "allow") === "yes" ? 1 : 0}`;
    })
    .join("|");
}

/** USB redirection: a chardev (spicevmc usbredir, or a tcp socket) and usb-redir on the USB bus. */
export function buildRedirdevs(ctx: BuildContext): void {
  const redirs = ctx.def.devices.other.filter((o) => o.kind === "redirdev");
  const filter = ctx.def.devices.other.find((o) => o.kind === "redirfilter");
  redirs.forEach((o, i) => {
    const type = attr(o.xml, "type");
    const id = `charredir${i}`;
    if (type === "spicevmc") add(ctx, "-chardev", `spicevmc,id=${id},name=usbredir`);
    else if (type === "tcp") {
      const src = child(o.xml, "source");
      const host = src ? attr(src, "host") : undefined;
      const port = src ? attr(src, "service") : undefined;
      if (!host || !port) throw unsupported("a tcp USB redirection needs host and service");
      const bind = src && attr(src, "mode") === "bind";
      add(ctx, "-chardev", `socket,id=${id},host=${host},port=${port}${bind ? ",server=on,wait=off" : ""}`);
    } else throw unsupported(`redirdev type '${type}' is not supported by the QEMU driver yet`);
    if (!ctx.buses.has("usb")) throw unsupported("USB redirection needs a USB controller");
    const a = genericAddress(o);
    const port = a?.type === "usb" ? a.attrs.find(([k]) => k === "port")?.[1] : undefined;
    addDevice(ctx, {
      driver: "usb-redir",
      chardev: id,
      id: `redir${i}`,
      ...(filter ? { filter: redirFilter(filter.xml) } : {}),
      bus: "usb.0",
      ...(port !== undefined ? { port } : {}),
    });
  });
}

/** Devices kept verbatim by the parser; only RNG (and audio, sound: buildAudio, buildSound) become argv so far. */
/**
 * `<vsock>` comes last, after -sandbox (qemuBuildVsockCommandLine runs after the seccomp options):
 * vhost-vsock-pci with the guest CID and the vhost fd libvirt opened for it.
 */
export function buildVsock(ctx: BuildContext, rt: DeviceRuntime): void {
  const v = ctx.def.devices.other.find((o) => o.kind === "vsock");
  if (!v) return;
  const model = attr(v.xml, "model") ?? "virtio";
  const driver = virtioModel("vhost-vsock-pci", model);
  const cidEl = child(v.xml, "cid");
  const cid =
    rt.vsock?.cid ?? (cidEl && attr(cidEl, "auto") !== "yes" ? Number(attr(cidEl, "address") ?? 0) : 0);
  addDevice(ctx, {
    driver,
    id: "vsock0",
    "guest-cid": cid,
    vhostfd: String(rt.vsock?.fd ?? -1),
    ...pciProps(ctx, genericAddress(v)),
  });
}

/** QEMU's device per `<watchdog model>` (libvirt 9.0 knows no 'itco' yet). */
const WATCHDOG_DEVICE: Record<string, string> = { i6300esb: "i6300esb", ib700: "ib700" };

/**
 * `<watchdog>` after the sound devices (qemuBuildWatchdogCommandLine): the device, then
 * -watchdog-action with the action (reset by default). 'dump' is QEMU's 'pause': libvirt dumps the
 * guest itself on the WATCHDOG event.
 */
export function buildWatchdog(ctx: BuildContext): void {
  const ws = ctx.def.devices.other.filter((o) => o.kind === "watchdog");
  if (ws.length === 0) return;
  if (ws.length > 1) throw unsupported("only a single watchdog device is supported");
  const w = ws[0]!;
  const model = attr(w.xml, "model") ?? "";
  const driver = WATCHDOG_DEVICE[model];
  if (!driver) throw unsupported(`watchdog model '${model}' is not supported by the QEMU driver yet`);
  const props: Record<string, unknown> = { driver, id: "watchdog0" };
  if (model === "i6300esb") Object.assign(props, pciProps(ctx, genericAddress(w)));
  addDevice(ctx, props);
  const action = attr(w.xml, "action") ?? "reset";
  add(ctx, "-watchdog-action", action === "dump" ? "pause" : action);
}

export function buildOtherDevices(ctx: BuildContext): void {
  let rng = 0;
  for (const o of ctx.def.devices.other) {
    if (o.kind === "rng") buildRng(ctx, o, rng++);
    else if (
      ["audio", "sound", "redirdev", "redirfilter", "hub", "iommu", "watchdog", "vsock"].includes(o.kind)
    )
      continue;
    else if (o.kind === "panic" && attr(o.xml, "model") === "hyperv")
      continue; // -cpu hv-crash
    else throw unsupported(`device '${o.kind}' is not supported by the QEMU driver yet`);
  }
}

function buildRng(ctx: BuildContext, o: GenericDevice, i: number): void {
  const model = attr(o.xml, "model") ?? "";
  if (!model.startsWith("virtio"))
    throw unsupported(`RNG model '${model}' is not supported by the QEMU driver yet`);
  const backend = child(o.xml, "backend");
  const bmodel = backend ? attr(backend, "model") : undefined;
  if (bmodel === "builtin")
    add(ctx, "-object", JSON.stringify({ "qom-type": "rng-builtin", id: `objrng${i}` }));
  else if (bmodel === "random") {
    const file = textContent(backend!).trim() || "/dev/urandom";
    add(ctx, "-object", JSON.stringify({ "qom-type": "rng-random", id: `objrng${i}`, filename: file }));
  } else throw unsupported(`RNG backend '${bmodel}' is not supported by the QEMU driver yet`);
  addDevice(ctx, {
    driver: virtioModel("virtio-rng-pci", model),
    ...virtioOptions(child(o.xml, "driver")),
    rng: `objrng${i}`,
    id: `rng${i}`,
    ...pciProps(ctx, genericAddress(o)),
  });
}
