// Test driver save, restore, managed save and core dump. A save image is libvirt's test format:
// the 15-byte magic "TestGuestMagic\0", a native-endian int32 XML length, then the domain XML
// (test_driver.c testDomainSaveImageWrite), so images are interchangeable with libvirt's.

import { type FileHandle, open, writeFile } from "node:fs/promises";
import { formatDomainXML } from "../../conf/domain/index.js";
import type { DomainRef, HypervisorDriver } from "../../driver/index.js";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SAVE,
  VIR_DOMAIN_SHUTOFF,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { domainEvent, findDomain, type TestCtx } from "./ctx.js";
import { isActive, setRunning, setShutoff } from "./domain-obj.js";
import { addDomain, parseDef } from "./domain-lifecycle.js";
import { checkFlags, domainNotRunning, internal, opInvalid, testError } from "./errors.js";
import { errnoText } from "../../util/strerror.js";

const MAGIC = Buffer.from("TestGuestMagic\0", "latin1");
const MAX_XML = 8192;

function sysError(detail: string, e: unknown): VirError {
  const err = e as NodeJS.ErrnoException;
  const text = errnoText(err.code) ?? err.code ?? "Unknown error";
  return new VirError({
    code: ErrorCode.SYSTEM_ERROR,
    domain: ErrorDomain.TEST,
    message: `${detail}: ${text}`,
  });
}

export function encodeSaveImage(xml: string): Buffer {
  const body = Buffer.from(xml, "utf8");
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length);
  return Buffer.concat([MAGIC, len, body]);
}

/** Parses a save image; errors as testDomainSaveImageOpen reports them. */
export async function readSaveImage(path: string): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw sysError(`cannot read domain image '${path}'`, e);
  }
  // opened but unreadable (a directory): the header read fails, as libvirt's saferead
  let data: Buffer;
  try {
    data = await fh.readFile();
  } catch (e) {
    throw sysError(`incomplete save header in '${path}'`, e);
  } finally {
    await fh.close();
  }
  return decodeSaveImage(data, path);
}

/**
 * Decodes save-image bytes (untrusted: any file a client names). The XML length is checked
 * against libvirt's 8192-byte cap and the data present before anything is sliced.
 */
export function decodeSaveImage(data: Uint8Array, path: string): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const incomplete = (what: string) =>
    new VirError({
      code: ErrorCode.SYSTEM_ERROR,
      domain: ErrorDomain.TEST,
      message: `${what} '${path}': Success`,
    });
  if (buf.length < MAGIC.length) throw incomplete("incomplete save header in");
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw internal("mismatched header magic");
  if (buf.length < MAGIC.length + 4) throw incomplete("failed to read metadata length in");
  const len = buf.readInt32LE(MAGIC.length);
  if (len < 1 || len > MAX_XML) throw internal("length of metadata out of range");
  const start = MAGIC.length + 4;
  if (buf.length < start + len) throw incomplete("incomplete metadata in");
  return buf.subarray(start, start + len).toString("utf8");
}

export function domainSaveSlots(ctx: TestCtx): Partial<HypervisorDriver> {
  const node = ctx.node;
  const save = async (ref: DomainRef, to: string, dxml: string | null, flags: number) => {
    checkFlags(flags, 0, "testDomainSaveFlags");
    if (dxml !== null)
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.TEST, "xml modification unsupported");
    const d = findDomain(ctx, ref);
    if (!isActive(d)) throw domainNotRunning();
    const xml = formatDomainXML(d.def, { securityInfo: true, inactive: true });
    try {
      await writeFile(to, encodeSaveImage(xml), { mode: 0o600 });
    } catch (e) {
      throw sysError(`saving domain '${d.name}' to '${to}': open failed`, e);
    }
    // Slots without I/O run atomically, but one may have stopped the domain during the write.
    if (!isActive(d)) throw domainNotRunning();
    setShutoff(d, VIR_DOMAIN_SHUTOFF.SAVED);
    domainEvent(ctx, d, VIR_DOMAIN_EVENT.STOPPED, VIR_DOMAIN_EVENT_STOPPED.SAVED);
    if (!d.persistent) node.domains.remove(d);
  };
  const restore = async (from: string, dxml: string | null, flags: number) => {
    checkFlags(flags, 0, "testDomainRestoreFlags");
    if (dxml !== null)
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.TEST, "xml modification unsupported");
    const def = parseDef(await readSaveImage(from));
    // The domain's own job lock: a restore must not race a save or start of the same domain.
    await node.jobs.run(def.uuid, () => {
      const { dom } = addDomain(ctx, def, true);
      setRunning(dom, node.allocDomId(), VIR_DOMAIN_RUNNING.RESTORED);
      domainEvent(ctx, dom, VIR_DOMAIN_EVENT.STARTED, VIR_DOMAIN_EVENT_STARTED.RESTORED);
    });
  };
  return {
    // Saving waits on file I/O: the domain's job lock keeps a concurrent save of it out.
    domainSave(ref, to, dxml, flags) {
      return node.jobs.run(ref.uuid, () => save(ref, to, dxml, flags));
    },
    domainRestore(from, dxml, flags) {
      return restore(from, dxml, flags);
    },
    async domainSaveImageDefineXML(file, dxml, flags) {
      checkFlags(flags, VIR_DOMAIN_SAVE.RUNNING | VIR_DOMAIN_SAVE.PAUSED, "testDomainSaveImageDefineXML");
      await readSaveImage(file);
      const def = parseDef(dxml);
      const xml = formatDomainXML(def, { securityInfo: true, inactive: true });
      try {
        await writeFile(file, encodeSaveImage(xml), { mode: 0o600 });
      } catch (e) {
        throw sysError(`saving domain '${def.name}' to '${file}': open failed`, e);
      }
    },
    async domainSaveImageGetXMLDesc(file, flags) {
      checkFlags(flags, 1, "testDomainSaveImageGetXMLDesc");
      const def = parseDef(await readSaveImage(file));
      return formatDomainXML(def, { securityInfo: true, inactive: true });
    },
    async domainCoreDump(ref, to, flags) {
      return this.domainCoreDumpWithFormat!(ref, to, 0, flags);
    },
    async domainCoreDumpWithFormat(ref, to, dumpformat, flags) {
      checkFlags(flags, 1, "testDomainCoreDumpWithFormat");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      try {
        await writeFile(to, MAGIC, { mode: 0o600 });
      } catch (e) {
        throw sysError(`domain '${d.name}' coredump: failed to open ${to}`, e);
      }
      // the file is written before the format is looked at, and stays
      if (dumpformat !== 0) {
        throw testError(ErrorCode.OPERATION_UNSUPPORTED, "kdump-compressed format is not supported here");
      }
      if (flags & 1) {
        setShutoff(d, VIR_DOMAIN_SHUTOFF.CRASHED);
        domainEvent(ctx, d, VIR_DOMAIN_EVENT.STOPPED, VIR_DOMAIN_EVENT_STOPPED.CRASHED);
        if (!d.persistent) node.domains.remove(d);
      }
    },
    async domainManagedSave(ref, flags) {
      checkFlags(
        flags,
        VIR_DOMAIN_SAVE.BYPASS_CACHE | VIR_DOMAIN_SAVE.RUNNING | VIR_DOMAIN_SAVE.PAUSED,
        "testDomainManagedSave",
      );
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      if (!d.persistent) throw opInvalid("cannot do managed save for transient domain");
      setShutoff(d, VIR_DOMAIN_SHUTOFF.SAVED);
      d.hasManagedSave = true;
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.STOPPED, VIR_DOMAIN_EVENT_STOPPED.SAVED);
    },
    async domainHasManagedSaveImage(ref, flags) {
      checkFlags(flags, 0, "testDomainHasManagedSaveImage");
      return findDomain(ctx, ref).hasManagedSave;
    },
    async domainManagedSaveRemove(ref, flags) {
      checkFlags(flags, 0, "testDomainManagedSaveRemove");
      findDomain(ctx, ref).hasManagedSave = false;
    },
  };
}
