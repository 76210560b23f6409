// The secret driver table (libvirt's virSecretDriver, src/driver-secret.h).

import type { SecretEvent } from "./events.js";
import type { SecretRef } from "./refs.js";

type P<T> = Promise<T>;

export interface SecretDriver {
  readonly name: string;
  connectNumOfSecrets?(): P<number>;
  connectListSecrets?(maxuuids: number): P<string[]>;
  connectListAllSecrets?(flags: number): P<SecretRef[]>;
  secretLookupByUUID?(uuid: string): P<SecretRef>;
  secretLookupByUsage?(usageType: number, usageID: string): P<SecretRef>;
  secretDefineXML?(xml: string, flags: number): P<SecretRef>;
  secretGetXMLDesc?(secret: SecretRef, flags: number): P<string>;
  secretSetValue?(secret: SecretRef, value: Uint8Array, flags: number): P<void>;
  secretGetValue?(secret: SecretRef, flags: number): P<Uint8Array>;
  secretUndefine?(secret: SecretRef): P<void>;
  connectSecretEventRegisterAny?(
    secret: SecretRef | null,
    eventId: number,
    cb: (ev: SecretEvent) => void,
  ): P<number>;
  connectSecretEventDeregisterAny?(callbackId: number): P<void>;
}
