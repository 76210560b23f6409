// Public face of conf/secret: secret definitions, parser and formatter.
export * from "./secret.js";
