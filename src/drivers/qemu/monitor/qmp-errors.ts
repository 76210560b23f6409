// Maps QMP failures to VirError with libvirt's wording (qemu_monitor_json.c and qemu_monitor.c),
// because virsh prints these messages to users as they are.
import { ErrorCode, ErrorDomain, VirError, virError } from "../../../errors/index.js";

/** The `error` member of a QMP reply (qapi/qmp-spec: class + human-readable desc). */
export interface QmpErrorBody {
  class: string;
  desc?: string;
}

/** A failed QMP command: libvirt reports "internal error: unable to execute QEMU command 'x': desc". */
export class QmpCommandError extends VirError {
  constructor(
    readonly command: string,
    readonly qmpClass: string,
    readonly desc: string | undefined,
  ) {
    const detail =
      desc !== undefined
        ? `unable to execute QEMU command '${command}': ${desc}`
        : `unable to execute QEMU command '${command}'`;
    const e = virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, detail);
    super({ code: e.code, domain: e.domain, message: e.message, str1: detail });
    this.name = "QmpCommandError";
  }
}

export function qmpCommandError(command: string, body: unknown): QmpCommandError {
  const b = (body ?? {}) as Partial<QmpErrorBody>;
  const cls = typeof b.class === "string" ? b.class : "GenericError";
  const desc = typeof b.desc === "string" ? b.desc : undefined;
  return new QmpCommandError(command, cls, desc);
}

/** The monitor went away (QEMU exited or the socket broke) while commands were pending. */
export function monitorEofError(): VirError {
  return virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "End of file from qemu monitor");
}

export function monitorTimeoutError(command: string, ms: number): VirError {
  return virError(
    ErrorCode.OPERATION_TIMEOUT,
    ErrorDomain.QEMU,
    `QEMU monitor command '${command}' did not reply within ${ms} ms`,
  );
}

export function monitorProtocolError(detail: string): VirError {
  return virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, detail);
}
