// The qemu-xml2argv golden suite's cases and builder, shared by the golden comparison test
// and the test that starts every accepted case in a real (paused) QEMU.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDomainXML } from "../../src/conf/domain/index.js";
import type { QemuCaps } from "../../src/drivers/qemu/capabilities.js";
import { buildQemuCommand, type CommandRuntime } from "../../src/drivers/qemu/command.js";
import { qemuPostParse, xmlNamesArch } from "../../src/drivers/qemu/domain-post-parse.js";
import { applyHostModel } from "../../src/drivers/qemu/host-model.js";
import { formatArgv } from "../../src/drivers/qemu/log-header.js";

export const CASE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "data", "qemu-xml2argv");
/** Paths the case XMLs use for images, kernels and sockets. */
export const IMAGE_DIR = "/tmp/tsvirt-xml2argv";

export function listCases(): string[] {
  return readdirSync(CASE_DIR)
    .filter((f) => f.endsWith(".xml"))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function loadCaps(name: string): QemuCaps {
  const caps = JSON.parse(readFileSync(join(CASE_DIR, "caps-x86_64.json"), "utf8")) as QemuCaps;
  // Cases named kvm-* see a host where KVM works.
  if (name.startsWith("kvm-")) caps.kvm = { present: true, usable: true };
  return caps;
}

export function goldenRuntime(name: string): CommandRuntime {
  return {
    monitorPath: `/run/tsvirt/qemu/${name}.monitor`,
    pidfile: `/run/tsvirt/qemu/${name}.pid`,
    channelDir: `/var/lib/tsvirt/qemu/channel/target/${name}`,
    memoryDir: `/var/lib/tsvirt/qemu/ram/${name}`,
    vncPort: 5900,
    tapNames: ["vnet0", "vnet1"],
    // a fixed start time, so <clock offset='variable'> gives the same -rtc base every run
    now: Date.UTC(2026, 0, 1, 12, 0, 0),
  };
}

export type CaseResult = { kind: "args"; argv: string[]; text: string } | { kind: "err"; text: string };

export function runCase(
  name: string,
  rt: CommandRuntime = goldenRuntime(name),
  caps = loadCaps(name),
): CaseResult {
  const xml = readFileSync(join(CASE_DIR, `${name}.xml`), "utf8");
  try {
    const def = parseDomainXML(xml, { noIfnames: true });
    qemuPostParse(def, caps, xmlNamesArch(xml));
    // as a start does: a TCG host-model CPU runs as the custom CPU computed for it
    applyHostModel(def, caps);
    const argv = buildQemuCommand(def, caps, rt);
    return { kind: "args", argv, text: formatArgv([], argv) };
  } catch (e) {
    const err = e as { code?: number; message: string };
    return { kind: "err", text: `${err.code ?? "?"} ${err.message}\n` };
  }
}

/** Compares with <case>.args or <case>.err; UPDATE_GOLDEN=1 rewrites instead. Returns a diff note or "". */
export function checkGolden(name: string, r: CaseResult): string {
  const want = join(CASE_DIR, `${name}.${r.kind}`);
  const other = join(CASE_DIR, `${name}.${r.kind === "args" ? "err" : "args"}`);
  if (process.env.UPDATE_GOLDEN === "1") {
    writeFileSync(want, r.text);
    rmSync(other, { force: true });
    return "";
  }
  if (!existsSync(want)) {
    return existsSync(other)
      ? `expected ${name}.${r.kind === "args" ? "err" : "args"} but got ${r.kind}: ${r.text}`
      : `no golden file for ${name}`;
  }
  const expected = readFileSync(want, "utf8");
  return expected === r.text
    ? ""
    : `${name}.${r.kind} differs:\n--- expected\n${expected}\n--- got\n${r.text}`;
}
