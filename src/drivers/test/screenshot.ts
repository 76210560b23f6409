// The test driver's screenshot: the PNG libvirt's test driver streams (its package data file
// test-screenshot.png, read where libvirt is installed), else a generated 8-bit grayscale PNG
// (the pixels differ, the MIME type and format are the same).

import { readFile } from "node:fs/promises";
import { deflateSync } from "node:zlib";

/** libvirt's PKGDATADIR "/test-screenshot.png" as Debian installs it. */
const LIBVIRT_SCREENSHOT = "/usr/share/libvirt/test-screenshot.png";

/** The screenshot's bytes: libvirt's file where it is installed, else makeScreenshotPng(). */
export async function testScreenshotPng(): Promise<Uint8Array> {
  try {
    return await readFile(LIBVIRT_SCREENSHOT);
  } catch {
    return makeScreenshotPng();
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk (PNG spec section 5.3: length, type, data, CRC over type and data). */
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A width×height grayscale PNG with a diagonal gradient. */
export function makeScreenshotPng(width = 640, height = 480): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: grayscale
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) raw[row + 1 + x] = (x + y) & 0xff;
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    sig,
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
