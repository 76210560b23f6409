// virsh's tree listing (tools/vsh.c vshTreePrint), used by snapshot-list --tree and nodedev-list
// --tree: "+- " before each child, "|" rails while siblings follow, a blank rail after a last leaf.

/** Renders the subtree rooted at `root`; parentOf(i) names item i's parent (null for a root). */
export function printTree(
  names: readonly string[],
  parentOf: (i: number) => string | null,
  root: number,
): string {
  let out = "";
  let indent = "";
  const walk = (dev: number, lastdev: number, isRoot: boolean) => {
    const name = names[dev];
    out += `${indent}${isRoot ? "" : "+- "}${name}\n`;
    if (!isRoot) indent += `${dev === lastdev ? " " : "|"} `;
    let nextlast = -1;
    for (let i = 0; i < names.length; i++) if (parentOf(i) === name) nextlast = i;
    if (nextlast !== -1) out += `${indent}  |\n`;
    indent += "  ";
    for (let i = 0; i < names.length; i++) if (parentOf(i) === name) walk(i, nextlast, false);
    if (indent.endsWith("  ")) indent = indent.slice(0, -2);
    if (nextlast === -1 && dev === lastdev) out += `${indent}\n`;
    if (!isRoot) indent = indent.slice(0, -2);
  };
  walk(root, root, true);
  return out;
}
