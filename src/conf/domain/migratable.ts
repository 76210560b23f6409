// VIR_DOMAIN_XML_MIGRATABLE in the generic formatter (virDomainDefFormatInternal), as libvirt
// 9.0's test driver shows it: the implicit PS/2 keyboard is left out, a SPICE display's
// <listen type='none'/> becomes autoport='no', and a VNC display shown with socket= leaves out
// its socket <listen> (the element stays open, empty). The QEMU driver
// strips more on its own (src/drivers/qemu/domain-migratable.ts).
import type { XmlElement } from "../../xml/index.js";
import type { DomainDef } from "./types.js";

/** A shallow view of `def` with what a migratable definition leaves out removed; `def` is untouched. */
export function migratableView(def: DomainDef): DomainDef {
  const d = def.devices;
  const inputs = d.inputs.filter((i) => !(i.type === "keyboard" && i.bus === "ps2"));
  const graphics = d.graphics.map((g) => {
    if (g.type === "spice") {
      // a SPICE display's implicit <listen type='none'/> is left out, shown as autoport='no'
      const listens = g.children.filter((k) => k.name === "listen");
      if (listens.length !== 1 || !listens[0]!.attrs.some(([a, v]) => a === "type" && v === "none")) return g;
      const attrs: [string, string][] = g.attrs.some(([k]) => k === "autoport")
        ? g.attrs
        : [...g.attrs, ["autoport", "no"]];
      return { ...g, attrs, children: g.children.filter((k) => k !== listens[0]) };
    }
    const sock = g.type === "vnc" ? g.attrs.find(([k]) => k === "socket")?.[1] : undefined;
    if (sock === undefined) return g;
    const rest = g.children.filter(
      (k) =>
        !(
          k.name === "listen" &&
          k.attrs.some(([a, v]) => a === "type" && v === "socket") &&
          k.attrs.some(([a, v]) => a === "socket" && v === sock)
        ),
    );
    // an empty but open element, as libvirt prints it
    const children = rest.length ? rest : [{ kind: "text", text: "\n    " } as unknown as XmlElement];
    return { ...g, children };
  });
  return { ...def, devices: { ...d, inputs, graphics } };
}
