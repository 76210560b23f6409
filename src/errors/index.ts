// Public face of src/errors: VirError, libvirt's codes and domains, message rendering.
export * from "./codes.js";
export * from "./messages.js";
export * from "./vir-error.js";
