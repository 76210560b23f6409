// The storage driver table (libvirt's virStorageDriver, src/driver-storage.h): optional slots
// named as libvirt's in camelCase; absent means VIR_ERR_NO_SUPPORT.

import type { StoragePoolEvent } from "./events.js";
import type { StoragePoolRef, StorageVolRef } from "./refs.js";
import type { ByteStream, StoragePoolInfo, StorageVolInfo } from "./types.js";

type P<T> = Promise<T>;

export interface StorageDriver {
  readonly name: string;
  connectNumOfStoragePools?(): P<number>;
  connectListStoragePools?(maxnames: number): P<string[]>;
  connectNumOfDefinedStoragePools?(): P<number>;
  connectListDefinedStoragePools?(maxnames: number): P<string[]>;
  connectListAllStoragePools?(flags: number): P<StoragePoolRef[]>;
  connectFindStoragePoolSources?(type: string, srcSpec: string | null, flags: number): P<string>;
  storagePoolLookupByName?(name: string): P<StoragePoolRef>;
  storagePoolLookupByUUID?(uuid: string): P<StoragePoolRef>;
  storagePoolLookupByVolume?(vol: StorageVolRef): P<StoragePoolRef>;
  storagePoolLookupByTargetPath?(path: string): P<StoragePoolRef>;
  storagePoolCreateXML?(xml: string, flags: number): P<StoragePoolRef>;
  storagePoolDefineXML?(xml: string, flags: number): P<StoragePoolRef>;
  storagePoolBuild?(pool: StoragePoolRef, flags: number): P<void>;
  storagePoolUndefine?(pool: StoragePoolRef): P<void>;
  storagePoolCreate?(pool: StoragePoolRef, flags: number): P<void>;
  storagePoolDestroy?(pool: StoragePoolRef): P<void>;
  storagePoolDelete?(pool: StoragePoolRef, flags: number): P<void>;
  storagePoolRefresh?(pool: StoragePoolRef, flags: number): P<void>;
  storagePoolGetInfo?(pool: StoragePoolRef): P<StoragePoolInfo>;
  storagePoolGetXMLDesc?(pool: StoragePoolRef, flags: number): P<string>;
  storagePoolGetAutostart?(pool: StoragePoolRef): P<boolean>;
  storagePoolSetAutostart?(pool: StoragePoolRef, autostart: boolean): P<void>;
  storagePoolIsActive?(pool: StoragePoolRef): P<boolean>;
  storagePoolIsPersistent?(pool: StoragePoolRef): P<boolean>;
  storagePoolNumOfVolumes?(pool: StoragePoolRef): P<number>;
  storagePoolListVolumes?(pool: StoragePoolRef, maxnames: number): P<string[]>;
  storagePoolListAllVolumes?(pool: StoragePoolRef, flags: number): P<StorageVolRef[]>;

  storageVolLookupByName?(pool: StoragePoolRef, name: string): P<StorageVolRef>;
  storageVolLookupByKey?(key: string): P<StorageVolRef>;
  storageVolLookupByPath?(path: string): P<StorageVolRef>;
  storageVolCreateXML?(pool: StoragePoolRef, xml: string, flags: number): P<StorageVolRef>;
  storageVolCreateXMLFrom?(
    pool: StoragePoolRef,
    xml: string,
    clonevol: StorageVolRef,
    flags: number,
  ): P<StorageVolRef>;
  storageVolDelete?(vol: StorageVolRef, flags: number): P<void>;
  storageVolWipe?(vol: StorageVolRef, flags: number): P<void>;
  storageVolWipePattern?(vol: StorageVolRef, algorithm: number, flags: number): P<void>;
  storageVolGetInfo?(vol: StorageVolRef): P<StorageVolInfo>;
  storageVolGetInfoFlags?(vol: StorageVolRef, flags: number): P<StorageVolInfo>;
  storageVolGetXMLDesc?(vol: StorageVolRef, flags: number): P<string>;
  storageVolGetPath?(vol: StorageVolRef): P<string>;
  storageVolResize?(vol: StorageVolRef, capacity: number, flags: number): P<void>;
  /** Writes what arrives on `stream.incoming` into the volume from `offset` (length 0: all). */
  storageVolUpload?(
    vol: StorageVolRef,
    stream: ByteStream,
    offset: number,
    length: number,
    flags: number,
  ): P<void>;
  /** Sends the volume's bytes from `offset` (length 0: to the end) through `stream.write`. */
  storageVolDownload?(
    vol: StorageVolRef,
    stream: ByteStream,
    offset: number,
    length: number,
    flags: number,
  ): P<void>;
  connectGetStoragePoolCapabilities?(flags: number): P<string>;

  connectStoragePoolEventRegisterAny?(
    pool: StoragePoolRef | null,
    eventId: number,
    cb: (ev: StoragePoolEvent) => void,
  ): P<number>;
  connectStoragePoolEventDeregisterAny?(callbackId: number): P<void>;
}
