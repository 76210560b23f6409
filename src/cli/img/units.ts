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

/** Returns bytes, or undefined when the text is not a size; may exceed 2^53 (caller checks). */
export function parseSize(text: string, defaultSuffix = ""): bigint | undefined {
  const m = /^\s*(\d+)(?:\.(\d*))?\s*([a-zA-Z]?)$/.exec(text);
  if (!m) return undefined;
  const suffix = m[3] || defaultSuffix;
  const mult = SUFFIX[suffix];
  if (mult === undefined) return undefined;
  const int = BigInt(m[1]!);
  const frac = m[2] ?? "";
  // qemu rejects fractions with a bytes suffix and keeps the fraction's value otherwise.
  if (frac && mult === 1 && /[1-9]/.test(frac)) return undefined;
  const multB = BigInt(mult);
  let v = int * multB;
  if (frac) {
    const den = 10n ** BigInt(frac.length);
    v += (BigInt(frac) * multB) / den;
  }
  return v;
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
  return `${g3(val / div)} ${suffixes[i]}B`;
}
