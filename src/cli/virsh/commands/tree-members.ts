// What snapshot and checkpoint commands share (tools/virsh-snapshot.c, virsh-checkpoint.c): both
// are trees of named members of a domain, listed as a table, names or --tree, and deleted alike.
import type { XmlElement } from "../../../xml/index.js";
import type { ParsedCmd } from "../command.js";
import { formatTable } from "../format/table.js";
import { printTree } from "../format/tree.js";
import { attempt, type Ctl } from "../lookup.js";
import { optBool } from "../options.js";
import { parseDoc } from "../util.js";

/** A snapshot or checkpoint handle, as far as these helpers need it. */
export interface TreeMember {
  readonly name: string;
  getParent(flags: number): Promise<{ name: string }>;
  getXMLDesc(flags: number): Promise<string>;
  delete(flags: number): Promise<void>;
}

/** The parent's name, or null when the member is a root (the lookup fails with `noParentCode`). */
export async function parentNameOr(m: TreeMember, noParentCode: number): Promise<string | null> {
  try {
    return (await m.getParent(0)).name;
  } catch (e) {
    if ((e as { code?: number }).code === noParentCode) return null;
    throw e;
  }
}

export interface TreeListing<T extends TreeMember> {
  /** Keep the members in the order given (--topological) instead of sorting by name. */
  topological: boolean;
  parentName: (m: T) => Promise<string | null>;
  /** Table headings before "Parent". */
  headings: string[];
  /** A table row's cells after the name, from the member's XML. */
  cells: (doc: XmlElement) => string[];
}

/** Prints the members as --tree, --name or a table (with --parent, a Parent column). */
export async function printTreeListing<T extends TreeMember>(
  ctl: Ctl,
  cmd: ParsedCmd,
  members: T[],
  how: TreeListing<T>,
): Promise<boolean> {
  if (!how.topological) members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tree = optBool(cmd, "tree");
  const withParent = optBool(cmd, "parent");
  const parents = new Map<string, string | null>();
  if (tree || withParent) for (const m of members) parents.set(m.name, await how.parentName(m));
  if (tree) {
    const names = members.map((m) => m.name);
    const parentOf = (i: number) => {
      const p = parents.get(names[i]) ?? null;
      return p !== null && names.includes(p) ? p : null;
    };
    for (let i = 0; i < names.length; i++) if (parentOf(i) === null) ctl.print(printTree(names, parentOf, i));
    return true;
  }
  if (optBool(cmd, "name")) {
    for (const m of members) ctl.print(`${m.name}\n`);
    return true;
  }
  const rows: string[][] = [];
  for (const m of members) {
    const row = [m.name, ...how.cells(parseDoc(await m.getXMLDesc(0)))];
    if (withParent) row.push(parents.get(m.name) ?? "");
    rows.push(row);
  }
  ctl.print(formatTable(withParent ? [...how.headings, "Parent"] : how.headings, rows, !ctl.quiet));
  return true;
}

/** snapshot-delete / checkpoint-delete once the member is found: --children, --metadata, --children-only. */
export async function deleteTreeMember(
  ctl: Ctl,
  cmd: ParsedCmd,
  m: TreeMember,
  noun: string,
): Promise<boolean> {
  let flags = 0;
  if (optBool(cmd, "children")) flags |= 1;
  if (optBool(cmd, "metadata")) flags |= 2;
  if (optBool(cmd, "children-only")) flags |= 4;
  await attempt(`Failed to delete ${noun} ${m.name}`, () => m.delete(flags));
  ctl.printExtra(
    flags & 4 ? `Domain ${noun} ${m.name} children deleted\n` : `Domain ${noun} ${m.name} deleted\n`,
  );
  return true;
}
