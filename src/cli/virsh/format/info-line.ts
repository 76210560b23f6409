// One "Key:           value" line of virsh's *-info commands (vshPrint "%-15s %s\n").
export const pad = (k: string, v: string) => `${k.padEnd(15)} ${v}\n`;
