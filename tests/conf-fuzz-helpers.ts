// Bounded mutation fuzzing for conf/ parsers: every input either parses or throws VirError;
// anything else (TypeError, RangeError, hang) is a bug. Deterministic seed so failures replay.

import { VirError } from "../src/errors/index.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TOKENS = [
  "<",
  ">",
  "/>",
  "'",
  '"',
  "&amp;",
  "&#0;",
  "-1",
  "99999999999999999999",
  "0x",
  "::",
  ".",
  "yes",
  "no",
  "",
  " ",
  "\n",
  "<x/>",
  "</a>",
  "ipv6",
  "255.255.255.255",
];

function mutate(src: string, r: () => number): string {
  let s = src;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (s.length + 1));
    const op = Math.floor(r() * 4);
    if (op === 0) s = s.slice(0, pos) + s.slice(pos + 1 + Math.floor(r() * 8));
    else if (op === 1) s = s.slice(0, pos) + TOKENS[Math.floor(r() * TOKENS.length)] + s.slice(pos);
    else if (op === 2) {
      // Replace the value of some attribute with a token.
      const m = /='[^']*'/g;
      const all = [...s.matchAll(m)];
      const pick = all[Math.floor(r() * all.length)];
      if (pick?.index !== undefined)
        s = `${s.slice(0, pick.index)}='${TOKENS[Math.floor(r() * TOKENS.length)]}'${s.slice(pick.index + pick[0].length)}`;
    } else {
      const t = />([^<]+)</g;
      const all = [...s.matchAll(t)];
      const pick = all[Math.floor(r() * all.length)];
      if (pick?.index !== undefined)
        s = `${s.slice(0, pick.index)}>${TOKENS[Math.floor(r() * TOKENS.length)]}<${s.slice(pick.index + pick[0].length)}`;
    }
  }
  return s;
}

export function fuzzParser(
  seeds: string[],
  parse: (x: string) => unknown,
  iterations: number,
  seed = 1234,
): void {
  const r = rng(seed);
  for (let i = 0; i < iterations; i++) {
    const input = mutate(seeds[Math.floor(r() * seeds.length)]!, r);
    try {
      parse(input);
    } catch (e) {
      if (!(e instanceof VirError)) {
        throw new Error(`non-VirError ${String(e)} for input:\n${input}`);
      }
    }
  }
}
