// Public surface of the native image layer: interfaces, IO backends, probe, registry, factory.

export type { BlockIO } from "./block-io.js";
export * from "./errors.js";
export * from "./image.js";
export { FileIO, type FileIOOptions } from "./io/file-io.js";
export { MEMORY_CHUNK, MemoryIO } from "./io/memory-io.js";
export { PROBE_BYTES, probeFormat } from "./probe.js";
export * from "./registry.js";
export {
  createImage,
  detectFormat,
  MAX_BACKING_DEPTH,
  type OpenImageOptions,
  openImage,
  resolveRelative,
} from "./open.js";
export { RawImage } from "./formats/raw/index.js";
