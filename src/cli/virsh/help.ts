// virsh's help texts (tools/vsh.c vshCmddefHelp, vshCmdGrpHelp): rendered from the command tables
// alone, so that `help CMD`, `CMD --help` and `help GROUP` match virsh byte for byte.
import type { CmdDef, GroupDef } from "./command.js";

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));

/** True if some option before an argv option can be given positionally (vsh's "shortopt"). */
export function commandHelp(def: CmdDef): string {
  let out = `  NAME\n    ${def.name} - ${def.info}\n\n  SYNOPSIS\n    ${def.name}`;
  let shortopt = false;
  for (const o of def.opts) {
    let s: string;
    switch (o.type) {
      case "bool":
        s = `[--${o.name}]`;
        break;
      case "int":
        s = o.required ? `<${o.name}>` : `[--${o.name} <number>]`;
        if (!o.reqOpt) shortopt = true;
        break;
      case "string":
        s = `[--${o.name} <string>]`;
        if (!o.reqOpt) shortopt = true;
        break;
      case "data":
        s = o.required ? `<${o.name}>` : `[<${o.name}>]`;
        if (!o.reqOpt) shortopt = true;
        break;
      case "argv":
        if (shortopt) s = o.required ? `{[--${o.name}] <string>}...` : `[[--${o.name}] <string>]...`;
        else s = o.required ? `<${o.name}>...` : `[<${o.name}>]...`;
        break;
      default:
        continue; // aliases are undocumented
    }
    out += ` ${s}`;
  }
  out += "\n";
  if (def.desc) out += `\n  DESCRIPTION\n    ${def.desc}\n`;
  const shown = def.opts.filter((o) => o.type !== "alias");
  if (shown.length) {
    out += "\n  OPTIONS\n";
    for (const o of shown) {
      let buf: string;
      switch (o.type) {
        case "bool":
          buf = `--${o.name}`;
          break;
        case "int":
          buf = o.required && !o.reqOpt ? `[--${o.name}] <number>` : `--${o.name} <number>`;
          break;
        case "string":
          buf = `--${o.name} <string>`;
          break;
        case "data":
          buf = o.reqOpt ? `--${o.name} <string>` : `[--${o.name}] <string>`;
          break;
        default:
          buf = shortopt ? `[--${o.name}] <string>` : `<${o.name}>`;
      }
      out += `    ${pad(buf, 15)}  ${o.help}\n`;
    }
  }
  return `${out}\n`;
}

export function groupHelp(g: GroupDef): string {
  let out = ` ${g.title} (help keyword '${g.keyword}'):\n`;
  for (const c of g.commands) out += `    ${pad(c.name, 30)} ${c.info}\n`;
  return out;
}

export function fullHelp(groups: readonly GroupDef[]): string {
  return `Grouped commands:\n\n${groups.map((g) => `${groupHelp(g)}\n`).join("")}`;
}
