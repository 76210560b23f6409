// Size parsing and printing exactly as qemu-img does: qemu_strtosz() suffixes (k K M G T P E,
// binary multiples, decimal fractions) and size_to_str()'s "%0.3g" rendering ("1.5 GiB").

const SUFFIX: Record<string, number> = {
  "": 1,
  b: 1,
  B: 1,
  k: 2 ** 10,
  K: 2 ** 10,
  m: 2 ** 20,
  M: 2 ** 20,
  g: 2 ** 30,
  G: 2 ** 30,
  t: 2 ** 40,
  T: 2 ** 40,
  p: 2 ** 50,
  P: 2 ** 50,
  e: 2 ** 60,
  E: 2 ** 60,
};

export interface StrToSz {
  /** Bytes (may exceed 2^63: the caller decides). */
  value?: bigint;
  /** EINVAL: not a size; ERANGE: above 2^64-1. */
  error?: "EINVAL" | "ERANGE";
  /** qemu's deprecation warning for a hex number with a suffix ("0x1k"). */
  warning?: string;
}

/**
 * qemu_strtosz(): leading blanks and a '+' allowed, decimal or 0x-hex, an optional fraction
 * (read as a double and rounded to the nearest byte of its suffix's unit; a fraction needs a
 * suffix other than B), one suffix letter, nothing after it.
 */
export function strtosz(text: string, defaultSuffix = ""): StrToSz {
  const m = /^[ \t\n\v\f\r]*\+?(\d+)/.exec(text);
  if (!m) return { error: "EINVAL" };
  let pos = m[0].length;
  let val = BigInt(m[1]!);
  let hex = false;
  let frac64 = 0n;
  if (val === 0n && (text[pos] === "x" || text[pos] === "X")) {
    const h = /^[0-9a-fA-F]+/.exec(text.slice(pos + 1));
    if (h) {
      val = BigInt(`0x${h[0]}`);
      pos += 1 + h[0].length;
      hex = true;
      if (text[pos] === ".") return { error: "EINVAL" };
    }
  } else if (text[pos] === ".") {
    // strtod() on ".ddd[e…]": an exponent makes the whole input invalid; no digits skips the '.'.
    const f = /^\.(\d*)(?:[eE][+-]?\d+)?/.exec(text.slice(pos))!;
    if (f[1] === "" && !/^\.\d/.test(text.slice(pos))) pos++;
    else {
      if (/[eE]/.test(f[0])) return { error: "EINVAL" };
      const fraction = Number(`0.${f[1]}`);
      pos += f[0].length;
      // The fraction as 0.64 fixed point (a double that rounds to 1.0 wraps to 0, as in C).
      const fixed = fraction * 2 ** 64;
      frac64 = fixed >= 2 ** 64 ? 0n : BigInt(Math.trunc(fixed));
    }
  }
  const c = text[pos];
  let mult: number | undefined = c !== undefined ? SUFFIX[c] : undefined;
  let warning: string | undefined;
  if (mult !== undefined) {
    if (hex) warning = `Using a multiplier suffix on hex numbers is deprecated: ${text}`;
    pos++;
  } else mult = SUFFIX[defaultSuffix] ?? 1;
  if (pos !== text.length) return { error: "EINVAL" };
  const mul = BigInt(mult);
  if (mul === 1n) {
    if (frac64 !== 0n) return { error: "EINVAL" };
  } else {
    val = val * mul + ((frac64 * mul + (1n << 63n)) >> 64n);
  }
  if (val > 0xffffffffffffffffn) return { error: "ERANGE" };
  return { value: val, warning };
}

/** Returns bytes, or undefined when the text is not a size; may exceed 2^53 (caller checks). */
export function parseSize(text: string, defaultSuffix = ""): bigint | undefined {
  return strtosz(text, defaultSuffix).value;
}

/** "%0.3g" for the 0.977..1000 range size_to_str produces. */
function g3(x: number): string {
  let s = x.toPrecision(3);
  if (s.includes("e")) {
    const [m, e] = s.split("e");
    const mm = m!.includes(".") ? m!.replace(/0+$/, "").replace(/\.$/, "") : m!;
    const ee = Number(e);
    return `${mm}e${ee < 0 ? "-" : "+"}${String(Math.abs(ee)).padStart(2, "0")}`;
  }
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** qemu's size_to_str(). */
export function sizeToStr(val: number): string {
  const suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
  const x = val / (1000 / 1024);
  // frexp exponent: x = m * 2^e with 0.5 <= m < 1.
  let e = 0;
  if (x !== 0) e = Math.floor(Math.log2(x)) + 1;
  if (x !== 0 && 2 ** (e - 1) > x) e--;
  if (x !== 0 && 2 ** e <= x) e++;
  let i = Math.trunc((e - 1) / 10);
  if (i < 0) i = 0;
  if (i > 6) i = 6;
  const div = 2 ** (i * 10);
  let y = val / div;
  // printf rounds an exact tie to even ("192.5" -> "192"); toPrecision would round it up.
  if (y > 0 && Number.isSafeInteger(val)) {
    const d = 2 - Number(y.toExponential(2).split("e")[1]);
    if (d >= 0) {
      const num = BigInt(val) * 10n ** BigInt(d);
      const den = BigInt(div);
      const q = num / den;
      if ((num % den) * 2n === den) y = Number(q % 2n === 0n ? q : q + 1n) / 10 ** d;
    }
  }
  return `${g3(y)} ${suffixes[i]}B`;
}

/**
 * qemu-img's cvtnum_full(): a qemu_strtosz() size in [min, max] or an error text (the two-line
 * "You may use k, M, G…" one, or "Must be between …"); `warn` gets the hex-suffix warning.
 */
export function cvtnum(
  name: string,
  value: string,
  warn?: (s: string) => void,
  min = 0n,
  max = 0x7fffffffffffffffn,
): { value: number } | { error: string } {
  const r = strtosz(value);
  if (r.warning) warn?.(r.warning);
  if (r.error === "EINVAL")
    return {
      error: `Invalid ${name} specified. You may use k, M, G, T, P or E suffixes for\ntsvirt-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.`,
    };
  if (r.value === undefined || r.value < min || r.value > max)
    return { error: `Invalid ${name} specified. Must be between ${min} and ${max}.` };
  return { value: Number(r.value) };
}

/** bdrv_parse_cache_mode()'s names (-t/-T): "off" is "none". */
export function isCacheMode(mode: string): boolean {
  return ["off", "none", "directsync", "writeback", "unsafe", "writethrough"].includes(mode);
}
