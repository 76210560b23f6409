// rootCollationCompare against the oracle it replaces: ICU's localeCompare, on QEMU-like names
// and on random strings over the same alphabet (and a few outside it, which fall back).
import assert from "node:assert/strict";
import { test } from "node:test";
import { rootCollationCompare } from "./collate.js";

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

test("rootCollationCompare orders like localeCompare", () => {
  const names = [
    "qemu64", "qemu32", "Westmere-IBRS", "Westmere", "EPYC-Rome", "EPYC", "athlon", "Opteron_G5",
    "Opteron_G4", "pc-i440fx-7.2", "pc-i440fx-2.10", "pc-q35-7.2", "pc", "q35", "microvm", "x-remote",
    "Skylake-Server-noTSX-IBRS", "Skylake-Server", "SkylakeServer", "core2duo", "Core2duo", "486",
    "ab", "aB", "Ab", "AB", "a", "A", "a.b", "a_b", "a-b", "", "é", "a b", "Z~",
  ];
  const alphabet = "_-.09azAZbBmM";
  let seed = 12345;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  for (let i = 0; i < 3000; i++) {
    let s = "";
    for (let j = rnd(6); j >= 0; j--) s += alphabet[rnd(alphabet.length)];
    names.push(s);
  }
  for (const a of names) {
    for (let k = 0; k < 40; k++) {
      const b = names[rnd(names.length)]!;
      assert.equal(sign(rootCollationCompare(a, b)), sign(a.localeCompare(b)), `${a} vs ${b}`);
    }
  }
  const sorted = [...names].sort((x, y) => x.localeCompare(y));
  assert.deepEqual([...names].sort(rootCollationCompare), sorted);
});
