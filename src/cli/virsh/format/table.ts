// virsh's table layout (tools/vsh-table.c): a leading space, columns left-aligned and joined by
// three spaces, the last column unpadded, and a dash rule as long as the sum of (width + 3).

/**
 * Whether the session's character type is UTF-8 (virsh runs setlocale(LC_ALL, "")): the first
 * non-empty of LC_ALL, LC_CTYPE, LANG names a UTF-8 locale. Otherwise it is the C locale, where
 * every byte above 0x7f is unprintable.
 */
let utf8 = false;

export function setTableLocale(env: Record<string, string | undefined>): void {
  const name = env.LC_ALL || env.LC_CTYPE || env.LANG || "C";
  utf8 = /\.utf-?8(@|$)/i.test(name);
}

/** g_unichar_iszerowidth: combining and format characters (not the soft hyphen), Hangul jungseong. */
function zeroWidth(ch: string, cp: number): boolean {
  if (cp === 0xad) return false;
  return /[\p{Mn}\p{Me}\p{Cf}]/u.test(ch) || (cp >= 0x1160 && cp < 0x1200) || cp === 0x200b;
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
 * vshTableSafeEncode: a cell's text with control characters, "\\x" and unprintable characters as
 * \\xNN, and its width in columns. virsh formats the byte as a signed char, so every byte above
 * 0x7f comes out as "\\xff".
 */
export function safeEncode(s: string): { text: string; width: number } {
  let text = "";
  let width = 0;
  const hex = (b: number) => `\\x${b < 0x80 ? b.toString(16).padStart(2, "0") : "ff"}`;
  const chars = [...s];
  chars.forEach((ch, i) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || cp === 0x7f || (ch === "\\" && chars[i + 1] === "x")) {
      // control characters, and a backslash that would read as the start of an escape
      text += hex(cp);
      width += 4;
    } else if (cp < 0x80) {
      text += ch;
      width += 1;
    } else if (!utf8 || /[\p{Cc}\p{Cn}\p{Cs}]/u.test(ch)) {
      const bytes = Buffer.from(ch, "utf8");
      for (const b of bytes) text += hex(b);
      width += 4 * bytes.length;
    } else {
      text += ch;
      width += zeroWidth(ch, cp) ? 0 : isWide(cp) ? 2 : 1;
    }
  });
  return { text, width };
}

/** Display width of a string as the table counts it. */
export function displayWidth(s: string): number {
  return safeEncode(s).width;
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
  const enc = (r: readonly string[]) => r.map(safeEncode);
  const head = enc(header);
  const body = rows.map(enc);
  const widths = head.map((h) => (withHeader ? h.width : 0));
  for (const r of body) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.width);
    });
  }
  const line = (cells: readonly { text: string; width: number }[]) => {
    let s = "";
    cells.forEach((c, i) => {
      s += ` ${c.text}`;
      if (i < cells.length - 1) s += " ".repeat(widths[i] - c.width + 2);
    });
    return `${s}\n`;
  };
  const rule = "-".repeat(widths.reduce((n, w) => n + w + 3, 0));
  return (withHeader ? line(head) + `${rule}\n` : "") + body.map(line).join("");
}

/** "Key:   value" lines with the key padded to `width` (virsh's "%-15s %s" style). */
export function keyValue(pairs: readonly [string, string][], width: number): string {
  return pairs.map(([k, v]) => `${k.padEnd(width)} ${v}\n`).join("");
}
