// tsvirtd's TLS listener with real virsh: x509 both ways (certificates made here with openssl),
// the 0x01 confirmation byte libvirt's client waits for, then ordinary RPC.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { openConnection } from "../src/api/index.js";
import { startDaemon } from "../src/daemon/daemon.js";
import { registerConnectionDriver } from "../src/driver/index.js";
import { remoteConnectionDriver } from "../src/drivers/remote/remote-driver.js";
import { registerTestDriver } from "../src/drivers/test/index.js";

const have = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const missing = !have("virsh", ["--version"]) ? "virsh" : !have("openssl", ["version"]) ? "openssl" : null;

/** A CA, a server certificate for localhost and a client certificate, libvirt-style file names. */
function makePki(dir: string, serverDir: string, clientDir: string): void {
  const ossl = (...a: string[]) => execFileSync("openssl", a, { cwd: dir, stdio: "ignore" });
  writeFileSync(
    join(dir, "ext.cnf"),
    "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n" +
      "[server]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n" +
      "[client]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage=clientAuth\n",
  );
  ossl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "cakey.pem",
    "-out",
    "cacert.pem",
    "-days",
    "2",
    "-subj",
    "/CN=tsvirt test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  for (const who of ["server", "client"]) {
    ossl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${who}key.pem`,
      "-out",
      `${who}.csr`,
      "-subj",
      `/CN=${who === "server" ? "localhost" : "tsvirt client"}`,
    );
    ossl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "cacert.pem",
      "-CAkey",
      "cakey.pem",
      "-CAcreateserial",
      "-out",
      `${who}cert.pem`,
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
      "-extensions",
      who,
    );
  }
  for (const f of ["cacert.pem", "servercert.pem", "serverkey.pem"]) {
    execFileSync("cp", [join(dir, f), join(serverDir, f)]);
  }
  for (const f of ["cacert.pem", "clientcert.pem", "clientkey.pem"]) {
    execFileSync("cp", [join(dir, f), join(clientDir, f)]);
  }
}

test("virsh over TLS with client certificates", {
  skip: missing ? `${missing} not installed` : false,
}, async () => {
  registerTestDriver();
  const root = mkdtempSync(join(tmpdir(), "tsvirtd-tls-"));
  const work = join(root, "work");
  const client = join(root, "client-pki");
  for (const d of [work, client, join(root, "etc", "pki")]) mkdirSync(d, { recursive: true });
  makePki(work, join(root, "etc", "pki"), client);
  const d = await startDaemon(
    { root, verbose: false, help: false, listenTls: { host: "127.0.0.1", port: 0 } },
    { logger: pino({ level: "silent" }) },
  );
  try {
    const run = (uri: string, args: string[]) =>
      new Promise<{ out: string; code: number }>((resolve) =>
        execFile("virsh", ["-c", uri, ...args], (err, stdout, stderr) =>
          resolve({ out: stdout + stderr, code: err ? 1 : 0 }),
        ),
      );
    const ours = await run(`test+tls://localhost:${d.tlsPort}/default?pkipath=${client}`, ["list", "--all"]);
    // and tsvirt's own remote driver over the same listener
    registerConnectionDriver(remoteConnectionDriver);
    const conn = await openConnection(`test+tls://localhost:${d.tlsPort}/default?pkipath=${client}`);
    assert.equal(await conn.getHostname(), hostname());
    assert.deepEqual(
      (await conn.listAllDomains()).map((x) => x.name),
      ["test"],
    );
    await conn.close();
    const theirs = await run("test:///default", ["list", "--all"]);
    assert.equal(ours.out, theirs.out);
    assert.equal(ours.code, 0);
    // no client certificate: the handshake fails and virsh reports it
    const none = join(root, "no-client-cert");
    mkdirSync(none);
    execFileSync("cp", [join(client, "cacert.pem"), none]);
    const refused = await run(`test+tls://localhost:${d.tlsPort}/default?pkipath=${none}`, ["hostname"]);
    assert.equal(refused.code, 1);
  } finally {
    await d.stop(1000);
    rmSync(root, { recursive: true, force: true });
  }
});
