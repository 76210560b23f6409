// Typed read helpers over the parts of a DomainDef kept as elements (disk sources, chardev
// targets, features, CPU), so drivers need not walk XmlElement trees themselves.

import { attr, child, type XmlElement } from "../../xml/index.js";
import { targetAttr } from "./devices/chardev.js";
import type { ChrDef, DiskDef, DomainDef, InterfaceDef } from "./types.js";

/** Host path (file, block device, directory) or network name of a disk's source. */
export function diskSourcePath(d: DiskDef): string | undefined {
  const s = d.source;
  if (!s) return undefined;
  return attr(s, "file") ?? attr(s, "dev") ?? attr(s, "dir") ?? attr(s, "name");
}

/** Image format from `<driver type=...>` (raw, qcow2, ...). */
export function diskFormat(d: DiskDef): string | undefined {
  return d.driver ? attr(d.driver, "type") : undefined;
}

/** Network-disk hosts as [name, port] pairs. */
export function diskHosts(
  d: DiskDef,
): { name?: string; port?: string; transport?: string; socket?: string }[] {
  if (!d.source) return [];
  return d.source.children
    .filter((c): c is XmlElement => c.kind === "element" && c.name === "host")
    .map((h) => ({
      name: attr(h, "name"),
      port: attr(h, "port"),
      transport: attr(h, "transport"),
      socket: attr(h, "socket"),
    }));
}

/** An attribute of a character device's `<target>` (type, port, name, ...). */
export function chrTarget(d: ChrDef, name: string): string | undefined {
  return targetAttr(d, name);
}

/** An attribute of a character device's first `<source>` (path, mode, host, service, ...). */
export function chrSource(d: ChrDef, name: string): string | undefined {
  const s = d.children.find((c) => c.name === "source");
  return s ? attr(s, name) : undefined;
}

/** The network, bridge or device an interface connects to. */
export function interfaceSource(n: InterfaceDef, name: string): string | undefined {
  return n.source ? attr(n.source, name) : undefined;
}

/**
 * Whether a `<features>` entry is on: present without state, or with state='on'
 * (`<acpi/>`, `<smm state='on'/>`); undefined when the feature is absent.
 */
export function featureEnabled(def: DomainDef, name: string): boolean | undefined {
  const f = def.features ? child(def.features, name) : undefined;
  if (!f) return undefined;
  const state = attr(f, "state");
  return state === undefined || state === "on";
}

/** CPU mode (custom, host-model, host-passthrough, maximum) and model name, when given. */
export function cpuModel(def: DomainDef): { mode: string; model?: string } | undefined {
  if (!def.cpu) return undefined;
  const m = child(def.cpu, "model");
  const text = m?.children.map((c) => (c.kind === "text" ? c.text : "")).join("") ?? "";
  return { mode: attr(def.cpu, "mode") ?? "custom", model: text || undefined };
}
