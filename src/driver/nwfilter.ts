// The network filter driver table (libvirt's virNWFilterDriver, src/driver-nwfilter.h).

import type { NWFilterRef } from "./refs.js";

type P<T> = Promise<T>;

export interface NWFilterDriver {
  readonly name: string;
  connectNumOfNWFilters?(): P<number>;
  connectListNWFilters?(maxnames: number): P<string[]>;
  connectListAllNWFilters?(flags: number): P<NWFilterRef[]>;
  nwfilterLookupByName?(name: string): P<NWFilterRef>;
  nwfilterLookupByUUID?(uuid: string): P<NWFilterRef>;
  nwfilterDefineXML?(xml: string, flags: number): P<NWFilterRef>;
  nwfilterUndefine?(nwfilter: NWFilterRef): P<void>;
  nwfilterGetXMLDesc?(nwfilter: NWFilterRef, flags: number): P<string>;
}
