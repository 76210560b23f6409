// Disks → `-blockdev` (protocol node + format node, JSON) and `-device` front-ends, as libvirt
// does for QEMU ≥ 4.2 (qemu_block.c / qemu_command.c), with its node-name and id conventions.
import { type DiskDef, diskNameToIndex } from "../../conf/domain/index.js";
import type { XmlElement } from "../../xml/index.js";
import { virtioModel, virtioOptions } from "./command-devices.js";
import { type BuildContext, add, addDevice, attr, pciProps, unsupported } from "./command-util.js";

/** Image formats whose header can name a backing file (libvirt's VIR_STORAGE_FILE_BACKING and up). */
const BACKING_FORMATS = new Set(["cow", "qcow", "qcow2", "qed", "vmdk"]);
const FORMATS = new Set(["raw", "qcow2", "qcow", "vmdk", "vdi", "vpc", "vhdx", "qed"]);

/** cache= → (direct, no-flush, write-cache), libvirt's qemuDomainDiskCacheModeToQemu table. */
const CACHE: Record<string, [boolean, boolean, boolean]> = {
  none: [true, false, true],
  writeback: [false, false, true],
  writethrough: [false, false, false],
  directsync: [true, false, false],
  unsafe: [false, true, true],
};

function driveAddr(d: DiskDef): { controller: number; bus: number; target: number; unit: number } {
  const get = (k: string) => Number(d.address?.attrs.find(([n]) => n === k)?.[1] ?? 0);
  if (d.address && d.address.type !== "drive")
    throw unsupported(`disk '${d.target.dev}' needs a drive address`);
  return { controller: get("controller"), bus: get("bus"), target: get("target"), unit: get("unit") };
}

export function buildDisks(ctx: BuildContext): void {
  const disks = ctx.def.devices.disks;
  disks.forEach((d, i) => {
    const n = disks.length - i;
    buildDisk(ctx, d, n);
  });
}

function buildDisk(ctx: BuildContext, d: DiskDef, n: number): void {
  const dev = d.target.dev;
  if (d.device !== "disk" && d.device !== "cdrom" && d.device !== "floppy") {
    throw unsupported(`disk device '${d.device}' is not supported by the QEMU driver yet`);
  }
  if (d.type !== "file" && d.type !== "block" && d.type !== "network") {
    throw unsupported(`disk type '${d.type}' is not supported by the QEMU driver yet`);
  }
  const protocol = d.type === "network" ? networkProtocol(d) : undefined;
  const path =
    d.type === "network"
      ? protocol
        ? "network"
        : undefined
      : d.source
        ? attr(d.source, d.type === "file" ? "file" : "dev")
        : undefined;
  if (!path && d.device === "disk") throw unsupported(`disk '${dev}' has no source`);
  const driverName = d.driver ? attr(d.driver, "name") : undefined;
  if (driverName !== undefined && driverName !== "qemu") {
    throw unsupported(`unsupported driver name '${driverName}' for disk '${dev}'`);
  }
  const format = (d.driver && attr(d.driver, "type")) ?? "raw";
  if (!FORMATS.has(format)) throw unsupported(`unsupported disk format '${format}' for disk '${dev}'`);
  const cacheMode = d.driver ? attr(d.driver, "cache") : undefined;
  if (cacheMode !== undefined && cacheMode !== "default" && !CACHE[cacheMode]) {
    throw unsupported(`unsupported cache mode '${cacheMode}' for disk '${dev}'`);
  }
  const cache = cacheMode && cacheMode !== "default" ? CACHE[cacheMode] : undefined;
  const discard = d.driver ? attr(d.driver, "discard") : undefined;
  const cacheJson = cache ? { cache: { direct: cache[0], "no-flush": cache[1] } } : {};
  const drv = (k: string) => {
    const v = d.driver ? attr(d.driver, k) : undefined;
    return v === "default" ? undefined : v;
  };
  const io = drv("io");
  // detect_zeroes='unmap' needs discard='unmap'; without it QEMU is told 'on' (qemuBlockStorageSourceGetBlockdevFormatProps)
  const dz = drv("detect_zeroes");
  const detect = dz === "unmap" && discard !== "unmap" ? "on" : dz;

  let drive: string | undefined;
  if (path) {
    const storage = `libvirt-${n}-storage`;
    drive = `libvirt-${n}-format`;
    add(
      ctx,
      "-blockdev",
      JSON.stringify({
        ...(protocol ?? { driver: d.type === "file" ? "file" : "host_device", filename: path }),
        ...(io && !protocol ? { aio: io } : {}),
        "node-name": storage,
        ...cacheJson,
        "auto-read-only": true,
        discard: "unmap",
      }),
    );
    add(
      ctx,
      "-blockdev",
      JSON.stringify({
        "node-name": drive,
        "read-only": d.readonly,
        ...(discard === "unmap" ? { discard: "unmap" } : {}),
        ...(detect !== undefined ? { "detect-zeroes": detect } : {}),
        ...cacheJson,
        driver: format,
        file: storage,
        // an empty <backingStore/> says the image has no backing file: QEMU must not open one
        // (only formats that can name one take the option; a running domain's raw disks show it)
        ...(BACKING_FORMATS.has(format) &&
        d.backingStore?.children.every((c) => c.kind !== "element") &&
        !d.backingStore.attrs.length
          ? { backing: null }
          : {}),
      }),
    );
    if (drv("copy_on_read") === "on") {
      // a copy-on-read filter node over the format node, which the device then uses
      const cor = `libvirt-CoR-${dev}`;
      add(
        ctx,
        "-blockdev",
        JSON.stringify({
          driver: "copy-on-read",
          "node-name": cor,
          file: drive,
          ...(discard === "unmap" ? { discard: "unmap" } : {}),
        }),
      );
      drive = cor;
    }
  }
  // Key order as libvirt writes it: driver and bus placement, drive, id, bootindex, tunables.
  const { id, ...front } = frontEnd(ctx, d);
  const props: Record<string, unknown> = { ...front };
  // a SCSI disk reports its serial as its device id when it has one
  if (props.device_id !== undefined && d.serial !== undefined) props.device_id = d.serial;
  if (d.shareable) props["share-rw"] = true;
  if (drive) props.drive = drive;
  props.id = id;
  const boot = ctx.bootIndex.get(`disk:${ctx.def.devices.disks.indexOf(d)}`);
  if (boot !== undefined) props.bootindex = boot;
  const blockio = d.extra.blockio?.[0];
  for (const k of ["logical_block_size", "physical_block_size", "discard_granularity"]) {
    const v = blockio ? attr(blockio, k) : undefined;
    if (v !== undefined) props[k] = Number(v);
  }
  if (d.wwn !== undefined && /^[0-9a-fA-F]{16}$/.test(d.wwn)) props.wwn = BigInt(`0x${d.wwn}`);
  if (cache) props["write-cache"] = cache[2] ? "on" : "off";
  if (d.serial !== undefined) props.serial = d.serial;
  // error policies: enospace is QEMU's enospc and applies to writes only
  const wpol = drv("error_policy");
  const rpol = drv("rerror_policy") ?? (wpol === "enospace" ? undefined : wpol);
  if (wpol !== undefined) props.werror = wpol === "enospace" ? "enospc" : wpol;
  if (rpol !== undefined) props.rerror = rpol === "enospace" ? "enospc" : rpol;
  if (d.target.bus === "usb") props.removable = d.target.removable === "on";
  addDevice(ctx, props);
}

/** `<source protocol='nbd' name=...><host name port | transport='unix' socket>` → nbd blockdev keys. */
function networkProtocol(d: DiskDef): Record<string, unknown> {
  const src = d.source;
  const proto = src ? attr(src, "protocol") : undefined;
  if (proto !== "nbd")
    throw unsupported(`network disk protocol '${proto}' is not supported by the QEMU driver yet`);
  const host = src?.children.find((c): c is XmlElement => c.kind === "element" && c.name === "host");
  if (!host) throw unsupported(`network disk '${d.target.dev}' needs a <host>`);
  const server =
    attr(host, "transport") === "unix"
      ? { type: "unix", path: attr(host, "socket") ?? "" }
      : { type: "inet", host: attr(host, "name") ?? "", port: attr(host, "port") ?? "10809" };
  const name = src ? attr(src, "name") : undefined;
  return { driver: "nbd", server, ...(name !== undefined ? { export: name } : {}) };
}

function frontEnd(ctx: BuildContext, d: DiskDef): Record<string, unknown> {
  const idx = diskNameToIndex(d.target.dev);
  const cd = d.device === "cdrom";
  switch (d.target.bus) {
    case "virtio":
      if (cd) throw unsupported("disk device 'cdrom' is not supported on bus 'virtio'");
      {
        // iothread and queues come right after the driver (qemuBuildDiskDeviceProps)
        const dv = (k: string) => (d.driver ? attr(d.driver, k) : undefined);
        const io = dv("iothread");
        return {
          driver: virtioModel("virtio-blk-pci", d.attrs.find(([k]) => k === "model")?.[1]),
          ...(d.driver ? virtioOptions(d.driver) : {}),
          ...(io !== undefined ? { iothread: `iothread${io}` } : {}),
          ...(dv("queues") !== undefined ? { "num-queues": Number(dv("queues")) } : {}),
          ...(dv("queue_size") !== undefined ? { "queue-size": Number(dv("queue_size")) } : {}),
          ...pciProps(ctx, d.address),
          id: `virtio-disk${idx}`,
        };
      }
    case "sata": {
      if (!ctx.q35) throw unsupported("SATA is not supported with this QEMU binary or machine type");
      const a = driveAddr(d);
      const bus = a.controller === 0 ? `ide.${a.unit}` : `sata${a.controller}.${a.unit}`;
      return { driver: cd ? "ide-cd" : "ide-hd", bus, id: `sata${a.controller}-${a.bus}-${a.unit}` };
    }
    case "ide": {
      if (ctx.q35) throw unsupported("IDE controllers are unsupported for this QEMU binary or machine type");
      const a = driveAddr(d);
      if (a.controller !== 0) throw unsupported("only one IDE controller is supported");
      return {
        driver: cd ? "ide-cd" : "ide-hd",
        bus: `ide.${a.bus}`,
        unit: a.unit,
        id: `ide${a.controller}-${a.bus}-${a.unit}`,
      };
    }
    case "scsi": {
      const a = driveAddr(d);
      if (!ctx.buses.has(`scsi${a.controller}`)) {
        throw unsupported(`disk '${d.target.dev}' needs SCSI controller ${a.controller}`);
      }
      const model = ctx.def.devices.controllers.find(
        (c) => c.type === "scsi" && c.index === a.controller,
      )?.model;
      if (model === "lsilogic") {
        // the LSI controller has one channel and LUN: the unit is its SCSI id (qemuBuildDiskDeviceProps)
        if (a.target !== 0) throw unsupported("target must be 0 for controller model 'lsilogic'");
        const id = `scsi${a.controller}-${a.bus}-${a.unit}`;
        return {
          driver: cd ? "scsi-cd" : "scsi-hd",
          bus: `scsi${a.controller}.${a.bus}`,
          "scsi-id": a.unit,
          device_id: `drive-${id}`,
          id,
        };
      }
      const id = `scsi${a.controller}-${a.bus}-${a.target}-${a.unit}`;
      return {
        driver: cd ? "scsi-cd" : "scsi-hd",
        bus: `scsi${a.controller}.0`,
        channel: a.bus,
        "scsi-id": a.target,
        lun: a.unit,
        device_id: `drive-${id}`,
        id,
      };
    }
    case "fdc": {
      // the PC's built-in floppy controller: unit 0 is A:, 1 is B: (qemuBuildDiskDeviceProps)
      if (ctx.q35) throw unsupported("floppy disks are not supported on q35 by the QEMU driver yet");
      const a = driveAddr(d);
      return { driver: "floppy", unit: a.unit, id: `fdc${a.controller}-${a.bus}-${a.unit}` };
    }
    case "usb":
      if (!ctx.buses.has("usb")) throw unsupported(`disk '${d.target.dev}' needs a USB controller`);
      return {
        driver: "usb-storage",
        bus: "usb.0",
        ...(d.address?.type === "usb" ? { port: d.address.attrs.find(([k]) => k === "port")?.[1] } : {}),
        id: `usb-disk${idx}`,
      };
    default:
      throw unsupported(`disk bus '${d.target.bus}' is not supported by the QEMU driver yet`);
  }
}
