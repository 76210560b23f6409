// Serial ports, consoles and channels → `-chardev` backends and their front-end devices
// (libvirt's qemuBuildChrChardevStr and friends; chardev options from qemu-options.hx).
import type { ChrDef } from "../../conf/domain/index.js";
import {
  type BuildContext,
  add,
  addDevice,
  attr,
  pciProps,
  qemuEscape,
  unsupported,
} from "./command-util.js";

/** Runtime paths the chardev builder needs (auto-named channel sockets). */
export interface ChardevRuntime {
  channelDir: string;
}

function targetAttr(c: ChrDef, k: string): string | undefined {
  return c.target?.attrs.find(([n]) => n === k)?.[1];
}

function sources(c: ChrDef) {
  return c.children.filter((e) => e.name === "source");
}

/** Builds the `-chardev` value for one character device backend. */
export function chardevBackend(c: ChrDef, id: string, autoPath?: string, spicevmcName?: string): string {
  const src = sources(c)[0];
  const s = (k: string) => (src ? attr(src, k) : undefined);
  let v: string;
  switch (c.type) {
    case "pty":
      v = `pty,id=${id}`;
      break;
    case "null":
      v = `null,id=${id}`;
      break;
    case "vc":
      v = `vc,id=${id}`;
      break;
    case "stdio":
      v = `stdio,id=${id}`;
      break;
    case "file": {
      const path = s("path");
      if (!path) throw unsupported(`chardev '${id}' of type 'file' needs a source path`);
      v = `file,id=${id},path=${qemuEscape(path)}`;
      const append = s("append");
      if (append) v += `,append=${append}`;
      break;
    }
    case "pipe":
    case "dev": {
      const path = s("path");
      if (!path) throw unsupported(`chardev '${id}' of type '${c.type}' needs a source path`);
      v = `${c.type === "dev" ? "tty" : "pipe"},id=${id},path=${qemuEscape(path)}`;
      break;
    }
    case "unix": {
      const path = s("path") ?? autoPath;
      if (!path) throw unsupported(`chardev '${id}' of type 'unix' needs a source path`);
      const bind = (s("mode") ?? "bind") === "bind";
      v = `socket,id=${id},path=${qemuEscape(path)}${bind ? ",server=on,wait=off" : ""}`;
      break;
    }
    case "tcp": {
      const host = s("host");
      const port = s("service");
      if (!host || !port) throw unsupported(`chardev '${id}' of type 'tcp' needs host and service`);
      const bind = (s("mode") ?? "connect") === "bind";
      const telnet = c.children.find((e) => e.name === "protocol" && attr(e, "type") === "telnet");
      v = `socket,id=${id},host=${host},port=${port}${telnet ? ",telnet=on" : ""}${bind ? ",server=on,wait=off" : ""}`;
      break;
    }
    case "udp": {
      const srcs = sources(c);
      const connect = srcs.find((e) => attr(e, "mode") !== "bind");
      const bind = srcs.find((e) => attr(e, "mode") === "bind");
      v = `udp,id=${id},host=${connect ? (attr(connect, "host") ?? "") : ""},port=${connect ? (attr(connect, "service") ?? "") : ""}`;
      if (bind) v += `,localaddr=${attr(bind, "host") ?? ""},localport=${attr(bind, "service") ?? ""}`;
      break;
    }
    case "spicevmc": {
      // the SPICE channel a spicevmc chardev carries, by what it serves
      v = `spicevmc,id=${id},name=${spicevmcName ?? "vdagent"}`;
      break;
    }
    case "spiceport": {
      const ch = s("channel");
      if (!ch) throw unsupported(`chardev '${id}' of type 'spiceport' needs a source channel`);
      v = `spiceport,id=${id},name=${qemuEscape(ch)}`;
      break;
    }
    default:
      throw unsupported(`chardev type '${c.type}' is not supported by the QEMU driver yet`);
  }
  const log = c.children.find((e) => e.name === "log");
  if (log) {
    const file = attr(log, "file");
    if (file) v += `,logfile=${qemuEscape(file)}`;
    const la = attr(log, "append");
    if (la) v += `,logappend=${la}`;
  }
  return v;
}

/** Makes sure a virtio-serial bus exists for virtio consoles/channels (libvirt adds the controller). */
function virtioSerialBus(ctx: BuildContext): string {
  if (!ctx.buses.has("virtio-serial0")) {
    addDevice(ctx, { driver: "virtio-serial-pci", id: "virtio-serial0" });
    ctx.buses.add("virtio-serial0");
  }
  return "virtio-serial0.0";
}

export function buildChardevs(ctx: BuildContext, rt: ChardevRuntime): void {
  const d = ctx.def.devices;
  d.serials.forEach((c, i) => {
    const id = `charserial${i}`;
    add(ctx, "-chardev", chardevBackend(c, id));
    const ttype = targetAttr(c, "type") ?? "isa-serial";
    const port = Number(targetAttr(c, "port") ?? i);
    const model = c.target?.children.find((e) => e.name === "model");
    const name = (model && attr(model, "name")) ?? ttype;
    switch (name) {
      case "isa-serial":
        addDevice(ctx, { driver: "isa-serial", chardev: id, id: `serial${i}`, index: port });
        break;
      case "pci-serial":
        addDevice(ctx, { driver: "pci-serial", chardev: id, id: `serial${i}`, ...pciProps(ctx, c.address) });
        break;
      case "usb-serial":
        if (!ctx.buses.has("usb")) throw unsupported("a USB serial port needs a USB controller");
        {
          const port =
            c.address?.type === "usb" ? c.address.attrs.find(([k]) => k === "port")?.[1] : undefined;
          addDevice(ctx, {
            driver: "usb-serial",
            chardev: id,
            id: `serial${i}`,
            bus: "usb.0",
            ...(port !== undefined ? { port } : {}),
          });
        }
        break;
      default:
        throw unsupported(`serial target '${name}' is not supported by the QEMU driver yet`);
    }
  });
  // parallel ports on the PC's ISA bus
  d.parallels.forEach((c, i) => {
    const id = `charparallel${i}`;
    add(ctx, "-chardev", chardevBackend(c, id));
    addDevice(ctx, { driver: "isa-parallel", chardev: id, id: `parallel${i}` });
  });
  let nr = 1;
  d.channels.forEach((c, i) => {
    const ttype = targetAttr(c, "type");
    if (ttype !== "virtio")
      throw unsupported(`channel target type '${ttype}' is not supported by the QEMU driver yet`);
    const name = targetAttr(c, "name");
    const id = `charchannel${i}`;
    const auto = name ? `${rt.channelDir}/${name}` : undefined;
    add(ctx, "-chardev", chardevBackend(c, id, auto));
    let bus = virtioSerialBus(ctx);
    const addr = (k: string) => c.address?.attrs.find(([n]) => n === k)?.[1];
    // the port's controller and bus as its virtio-serial address gives them
    if (c.address?.type === "virtio-serial" && addr("controller") !== undefined) {
      bus = `virtio-serial${addr("controller")}.${addr("bus") ?? 0}`;
    }
    const portAttr = addr("port");
    const port = portAttr !== undefined ? Number(portAttr) : nr;
    nr = Math.max(nr, port) + 1;
    addDevice(ctx, {
      driver: "virtserialport",
      bus,
      nr: port,
      chardev: id,
      id: `channel${i}`,
      ...(name ? { name } : {}),
    });
  });
  // Consoles: a serial-type console mirrors serial N (no own device); virtio consoles are virtconsole.
  d.consoles.forEach((c, i) => {
    const ttype = targetAttr(c, "type") ?? "serial";
    if (ttype === "serial") {
      if (d.serials.length === 0) throw unsupported("a serial console needs a serial port");
      return;
    }
    if (ttype !== "virtio")
      throw unsupported(`console target type '${ttype}' is not supported by the QEMU driver yet`);
    const id = `charconsole${i}`;
    add(ctx, "-chardev", chardevBackend(c, id));
    // Like libvirt, no bus/nr: QEMU puts a virtconsole on port 0 of the first virtio-serial bus.
    virtioSerialBus(ctx);
    addDevice(ctx, { driver: "virtconsole", chardev: id, id: `console${i}` });
  });
}
