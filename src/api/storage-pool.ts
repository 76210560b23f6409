// StoragePool: a handle on one storage pool (virStoragePool*), checks as src/libvirt-storage.c.

import type { StoragePoolInfo, StoragePoolRef } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import { StorageVol } from "./storage-vol.js";
import { UuidHandle } from "./uuid-handle.js";

const D = ErrorDomain.STORAGE;

export class StoragePool extends UuidHandle<StoragePoolRef> {
  private rw(fn: string): void {
    this.conn.checkWritable(D, fn);
  }

  async build(flags = 0): Promise<void> {
    this.rw("virStoragePoolBuild");
    return this.conn.storage("storagePoolBuild", "virStoragePoolBuild")(this.ref, flags);
  }
  async undefine(): Promise<void> {
    this.rw("virStoragePoolUndefine");
    return this.conn.storage("storagePoolUndefine", "virStoragePoolUndefine")(this.ref);
  }
  async create(flags = 0): Promise<void> {
    this.rw("virStoragePoolCreate");
    return this.conn.storage("storagePoolCreate", "virStoragePoolCreate")(this.ref, flags);
  }
  async destroy(): Promise<void> {
    this.rw("virStoragePoolDestroy");
    return this.conn.storage("storagePoolDestroy", "virStoragePoolDestroy")(this.ref);
  }
  async delete(flags = 0): Promise<void> {
    this.rw("virStoragePoolDelete");
    return this.conn.storage("storagePoolDelete", "virStoragePoolDelete")(this.ref, flags);
  }
  async refresh(flags = 0): Promise<void> {
    this.rw("virStoragePoolRefresh");
    return this.conn.storage("storagePoolRefresh", "virStoragePoolRefresh")(this.ref, flags);
  }
  async getInfo(): Promise<StoragePoolInfo> {
    return this.conn.storage("storagePoolGetInfo", "virStoragePoolGetInfo")(this.ref);
  }
  async getXMLDesc(flags = 0): Promise<string> {
    return this.conn.storage("storagePoolGetXMLDesc", "virStoragePoolGetXMLDesc")(this.ref, flags);
  }
  async getAutostart(): Promise<boolean> {
    return this.conn.storage("storagePoolGetAutostart", "virStoragePoolGetAutostart")(this.ref);
  }
  async setAutostart(autostart: boolean): Promise<void> {
    this.rw("virStoragePoolSetAutostart");
    return this.conn.storage("storagePoolSetAutostart", "virStoragePoolSetAutostart")(this.ref, autostart);
  }
  async isActive(): Promise<boolean> {
    return this.conn.storage("storagePoolIsActive", "virStoragePoolIsActive")(this.ref);
  }
  async isPersistent(): Promise<boolean> {
    return this.conn.storage("storagePoolIsPersistent", "virStoragePoolIsPersistent")(this.ref);
  }
  async numOfVolumes(): Promise<number> {
    return this.conn.storage("storagePoolNumOfVolumes", "virStoragePoolNumOfVolumes")(this.ref);
  }
  async listVolumes(maxnames = 65536): Promise<string[]> {
    return this.conn.storage("storagePoolListVolumes", "virStoragePoolListVolumes")(this.ref, maxnames);
  }
  async listAllVolumes(flags = 0): Promise<StorageVol[]> {
    const refs = await this.conn.storage("storagePoolListAllVolumes", "virStoragePoolListAllVolumes")(
      this.ref,
      flags,
    );
    return refs.map((r) => new StorageVol(this.conn, r));
  }
  async storageVolLookupByName(name: string): Promise<StorageVol> {
    const f = this.conn.storage("storageVolLookupByName", "virStorageVolLookupByName");
    return new StorageVol(this.conn, await f(this.ref, name));
  }
  async storageVolCreateXML(xml: string, flags = 0): Promise<StorageVol> {
    this.rw("virStorageVolCreateXML");
    const f = this.conn.storage("storageVolCreateXML", "virStorageVolCreateXML");
    return new StorageVol(this.conn, await f(this.ref, xml, flags));
  }
  async storageVolCreateXMLFrom(xml: string, clonevol: StorageVol, flags = 0): Promise<StorageVol> {
    this.rw("virStorageVolCreateXMLFrom");
    const f = this.conn.storage("storageVolCreateXMLFrom", "virStorageVolCreateXMLFrom");
    return new StorageVol(this.conn, await f(this.ref, xml, clonevol.ref, flags));
  }
}
