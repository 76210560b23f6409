// virsh's table layout (tools/vsh-table.c): a leading space, columns left-aligned and joined by
// three spaces, the last column unpadded, and a dash rule as long as the sum of (width + 3).

/** Display width of a string: wide East Asian and emoji code points take two cells. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    if (cp >= 0x300 && cp <= 0x36f) continue; // combining marks
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/**
 * Renders a header row and data rows as virsh's vshTablePrintToString does. Quiet mode (-q) drops
 * the header and the rule, and then the header does not count towards the column widths.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  withHeader = true,
): string {
  const widths = header.map((h) => (withHeader ? displayWidth(h) : 0));
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(c));
    });
  }
  const line = (cells: readonly string[]) => {
    let s = "";
    cells.forEach((c, i) => {
      s += ` ${c}`;
      if (i < cells.length - 1) s += " ".repeat(widths[i] - displayWidth(c) + 2);
    });
    return `${s}\n`;
  };
  const rule = "-".repeat(widths.reduce((n, w) => n + w + 3, 0));
  return (withHeader ? line(header) + `${rule}\n` : "") + rows.map(line).join("");
}

/** "Key:   value" lines with the key padded to `width` (virsh's "%-15s %s" style). */
export function keyValue(pairs: readonly [string, string][], width: number): string {
  return pairs.map(([k, v]) => `${k.padEnd(width)} ${v}\n`).join("");
}
