// Public face of src/api: the typed, async libvirt-style API (Connection and object handles).
// Naming: a libvirt function loses its virConnect/virDomain/... prefix and keeps the rest in
// camelCase, on the class of the object it acts on (virDomainCreate → dom.create(flags),
// virConnectListAllDomains → conn.listAllDomains(flags), virDomainLookupByName →
// conn.domainLookupByName(name), virStoragePoolListAllVolumes → pool.listAllVolumes(flags)).
// Foo/FooFlags pairs are one method with an optional `flags` argument. Every method is async and
// rejects with a VirError carrying libvirt's code, domain and message.
export * from "./check.js";
export * from "./connection.js";
export * from "./domain.js";
export * from "./domain-checkpoint.js";
export * from "./domain-snapshot.js";
export * from "./interface.js";
export * from "./network.js";
export * from "./node-device.js";
export * from "./secret.js";
export * from "./storage-pool.js";
export * from "./storage-vol.js";
