// Registers the remote driver the way libvirt's client library resolves URIs: test:/// stays
// in-process; a local URI without transport (qemu:///system) goes to the daemon's unix socket;
// qemu+unix://, qemu+tcp://, qemu+tls:// and test+unix:// go over their transport.
import { registerConnectionDriver } from "../../driver/index.js";
import { remoteConnectionDriver } from "./remote-driver.js";

let registered = false;

export function registerRemoteDriver(): void {
  if (registered) return;
  registered = true;
  registerConnectionDriver({
    name: "remote-local",
    accepts: (u) => u.transport === undefined && !u.host && u.driver !== "test",
    open: (u, opts) => remoteConnectionDriver.open({ ...u, transport: "unix" }, opts),
  });
  registerConnectionDriver(remoteConnectionDriver);
}
