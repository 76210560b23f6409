// virDomainSendKey for QEMU: keycodes of the linux, xt and qnum sets become QMP send-key
// "number" keys, which QEMU reads as qnum (XT set 1, extended codes as 0x80 | second byte).
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { checkFlags, notRunning, type QemuDomain } from "./domain-obj.js";

/** virKeycodeSet values (libvirt-domain.h). */
export const VIR_KEYCODE_SET = { LINUX: 0, XT: 1, ATSET1: 2, QNUM: 9 } as const;
/** libvirt: VIR_DOMAIN_SEND_KEY_MAX_KEYS. */
const MAX_KEYS = 16;

/**
 * Linux input keycodes 1..88 equal XT set 1 scancodes; the ones past that which PC keyboards
 * send are extended (0xE0-prefixed) XT codes, here in qnum form.
 */
const LINUX_EXTENDED: Record<number, number> = {
  96: 0x9c, // KP Enter
  97: 0x9d, // Right Ctrl
  98: 0xb5, // KP /
  99: 0x54, // SysRq
  100: 0xb8, // Right Alt
  102: 0xc7, // Home
  103: 0xc8, // Up
  104: 0xc9, // Page Up
  105: 0xcb, // Left
  106: 0xcd, // Right
  107: 0xcf, // End
  108: 0xd0, // Down
  109: 0xd1, // Page Down
  110: 0xd2, // Insert
  111: 0xd3, // Delete
  116: 0xde, // Power
  119: 0xc6, // Pause
  125: 0xdb, // Left Meta
  126: 0xdc, // Right Meta
  127: 0xdd, // Compose
};

/** One keycode of `codeset` as QEMU's qnum, or undefined when it has none. */
export function toQnum(codeset: number, code: number): number | undefined {
  switch (codeset) {
    case VIR_KEYCODE_SET.QNUM:
      return code > 0 && code <= 0xff ? code : undefined;
    case VIR_KEYCODE_SET.XT:
    case VIR_KEYCODE_SET.ATSET1:
      if (code > 0 && code < 0x80) return code;
      if (code >= 0xe001 && code <= 0xe07f) return 0x80 | (code & 0x7f);
      return undefined;
    case VIR_KEYCODE_SET.LINUX:
      if (code >= 1 && code <= 83) return code;
      if (code === 87 || code === 88) return code; // F11, F12
      return LINUX_EXTENDED[code];
    default:
      return undefined;
  }
}

export async function sendKey(
  d: QemuDomain,
  codeset: number,
  holdtime: number,
  keycodes: number[],
  flags: number,
): Promise<void> {
  checkFlags(flags, 0, "qemuDomainSendKey");
  if (keycodes.length === 0 || keycodes.length > MAX_KEYS) {
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `nkeycodes must be between 1 and ${MAX_KEYS}`);
  }
  const keys = keycodes.map((k) => {
    const q = toQnum(codeset, k);
    if (q === undefined) {
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.QEMU,
        `cannot translate keycode ${k} of ${codeset} codeset to qnum keycode`,
      );
    }
    return { type: "number", data: q };
  });
  if (!d.proc) throw notRunning();
  await d.proc.monitor.execute("send-key", { keys, ...(holdtime > 0 ? { "hold-time": holdtime } : {}) });
}
