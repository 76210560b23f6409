// libvirt's QEMU save image header (qemu_saveimage.h virQEMUSaveHeader): what `virsh save`
// writes before QEMU's migration stream, so save-image-dumpxml and restore find the domain XML.
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";

/** "LibvirtQemudSave" (16 bytes, no NUL); a partial image is marked "LibvirtQemudPart". */
export const QEMU_SAVE_MAGIC = Buffer.from("LibvirtQemudSave", "latin1");
export const QEMU_SAVE_PARTIAL = Buffer.from("LibvirtQemudPart", "latin1");
const QEMU_SAVE_VERSION = 2;
/** magic[16], then uint32 version, data_len, was_running, compressed, cookieOffset, unused[14]. */
export const SAVE_HEADER_SIZE = 16 + 4 * 19;
/** libvirt refuses metadata bigger than this when reading (a sanity cap for untrusted files). */
const MAX_DATA = 10 << 20;

export interface SaveHeader {
  xml: string;
  wasRunning: boolean;
  /** Where QEMU's migration stream starts in the file. */
  dataOffset: number;
}

/** Header + NUL-terminated XML; the migration stream follows. Host byte order is little-endian here. */
export function encodeSaveHeader(xml: string, wasRunning: boolean, partial = false): Buffer {
  const body = Buffer.from(`${xml}\0`, "utf8");
  const h = Buffer.alloc(SAVE_HEADER_SIZE);
  (partial ? QEMU_SAVE_PARTIAL : QEMU_SAVE_MAGIC).copy(h, 0);
  h.writeUInt32LE(QEMU_SAVE_VERSION, 16);
  h.writeUInt32LE(body.length, 20);
  h.writeUInt32LE(wasRunning ? 1 : 0, 24);
  return Buffer.concat([h, body]);
}

const bad = (msg: string) => virError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, msg);

/** Reads the fixed header; returns the metadata length to read next. */
export function decodeSaveHeaderFixed(h: Uint8Array): { dataLen: number; wasRunning: boolean } {
  const b = Buffer.from(h.buffer, h.byteOffset, h.byteLength);
  if (b.length < SAVE_HEADER_SIZE) throw bad("failed to read qemu header");
  const magic = b.subarray(0, 16);
  if (magic.equals(QEMU_SAVE_PARTIAL)) throw bad("save image is incomplete");
  if (!magic.equals(QEMU_SAVE_MAGIC)) throw bad("image magic is incorrect");
  const version = b.readUInt32LE(16);
  if (version > QEMU_SAVE_VERSION) {
    throw bad(`image version is not supported (${version} > ${QEMU_SAVE_VERSION})`);
  }
  const dataLen = b.readUInt32LE(20);
  if (dataLen === 0 || dataLen > MAX_DATA) throw bad("invalid header data length");
  if (b.readUInt32LE(28) !== 0) throw bad("compressed save images are not supported by tsvirt");
  return { dataLen, wasRunning: b.readUInt32LE(24) !== 0 };
}

/** Decodes header + metadata from the first bytes of an image (untrusted input). */
export function decodeSaveHeader(buf: Uint8Array): SaveHeader {
  const { dataLen, wasRunning } = decodeSaveHeaderFixed(buf);
  if (buf.length < SAVE_HEADER_SIZE + dataLen) throw bad("failed to read domain XML");
  const data = Buffer.from(buf.buffer, buf.byteOffset + SAVE_HEADER_SIZE, dataLen);
  // The XML ends at its NUL; a v2 cookie may follow it inside data_len.
  const nul = data.indexOf(0);
  const xml = data.subarray(0, nul < 0 ? data.length : nul).toString("utf8");
  return { xml, wasRunning, dataOffset: SAVE_HEADER_SIZE + dataLen };
}
