// Base of the handles on objects known by name and UUID (virNetwork, virStoragePool): the
// connection they came from, their ref, and its name and UUID.
import type { Connection } from "./connection.js";

export abstract class UuidHandle<R extends { name: string; uuid: string }> {
  constructor(
    readonly conn: Connection,
    readonly ref: R,
  ) {}

  get name(): string {
    return this.ref.name;
  }
  get uuid(): string {
    return this.ref.uuid;
  }
}
