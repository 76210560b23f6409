// Public face of conf/storage: storage pool and volume definitions, parsers and formatters.
export { formatStoragePoolXML, parseStoragePoolXML } from "./pool.js";
export { POOL_TYPE_INFO } from "./pool-source.js";
export * from "./types.js";
export { FILE_FORMATS, formatStorageVolXML, parseStorageVolXML, volFormatsFor } from "./volume.js";
