// Public face of src/xml: the tree, the parser of untrusted text, libvirt-style formatting.
export * from "./format.js";
export * from "./format-libxml.js";
export * from "./parse.js";
export * from "./tree.js";
