// Records virDomainIsUpdated as real libvirt 9.0's QEMU driver answers it through a domain's life
// (tests/data/qemu-live-xml/is-updated.py against a private libvirtd, bench/peers/libvirtd.ts)
// into tests/data/qemu-live-xml/is-updated.libvirt.txt; tests/qemu-autodestroy-daemon.test.ts
// runs the same script against tsvirtd. Run as root: node --import tsx scripts/oracle/qemu-is-updated.ts
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { startLibvirtd } from "../../bench/peers/libvirtd.js";

const cache = ".cache/libvirt-qemu-peer";
mkdirSync(cache, { recursive: true });
const peer = await startLibvirtd({ cacheDir: cache });
try {
  const out = execFileSync("/usr/bin/python3", ["tests/data/qemu-live-xml/is-updated.py", peer.uri("qemu")], {
    encoding: "utf8",
  });
  writeFileSync("tests/data/qemu-live-xml/is-updated.libvirt.txt", out);
  process.stdout.write(out);
} finally {
  await peer.stop();
}
