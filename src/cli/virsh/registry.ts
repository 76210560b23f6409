// Joins the generated option tables (defs/) with the handler tables (commands/) into virsh's
// command groups; a command without a handler still parses and has help, then fails when run.
import { type CmdDef, cmdDefFromSpec, type GroupDef, type Handler } from "./command.js";
import { commandAliases, hiddenSpecs } from "./defs/hidden.js";
import { groupSpecs } from "./defs/index.js";

export interface HandlerTable {
  handlers: Record<string, Handler<any>>;
  noConnect?: readonly string[];
}

export function buildGroups(tables: readonly HandlerTable[]): GroupDef[] {
  const handlers = new Map<string, Handler<any>>();
  const noConnect = new Set<string>();
  for (const t of tables) {
    for (const [k, v] of Object.entries(t.handlers)) handlers.set(k, v);
    for (const n of t.noConnect ?? []) noConnect.add(n);
  }
  const groups: GroupDef[] = groupSpecs.map((g) => ({
    title: g.title,
    keyword: g.keyword,
    commands: g.commands.map((c) => cmdDefFromSpec(c, handlers.get(c.name), noConnect.has(c.name))),
  }));
  for (const g of groups) {
    const hidden: { name: string; def: CmdDef }[] = [];
    for (const spec of hiddenSpecs[g.keyword] ?? [])
      hidden.push({
        name: spec.name,
        def: cmdDefFromSpec(spec, handlers.get(spec.name), noConnect.has(spec.name)),
      });
    for (const [alias, target] of Object.entries(commandAliases)) {
      const def = g.commands.find((c) => c.name === target);
      if (def) hidden.push({ name: alias, def });
    }
    if (hidden.length) g.hidden = hidden;
  }
  return groups;
}
