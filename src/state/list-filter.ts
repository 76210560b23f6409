// The state filter of every listAll* call over host objects (virNetworkObjMatch,
// virStoragePoolObjMatch): each pair of opposite bits, when either is given, keeps only the
// objects on a side that was asked for.

/** The six filter bits, whose values each kind's VIR_CONNECT_LIST_* table gives. */
export interface StateFilterBits {
  ACTIVE: number;
  INACTIVE: number;
  PERSISTENT: number;
  TRANSIENT: number;
  AUTOSTART: number;
  NO_AUTOSTART: number;
}

export interface StateFiltered {
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

/** True when `o` passes the active/persistent/autostart filters in `flags`. */
export function matchesStateFilter(o: StateFiltered, flags: number, L: StateFilterBits): boolean {
  const f = (b: number) => (flags & b) !== 0;
  const pick = (a: number, b: number, x: boolean) => !f(a | b) || (f(a) && x) || (f(b) && !x);
  return (
    pick(L.ACTIVE, L.INACTIVE, o.active) &&
    pick(L.PERSISTENT, L.TRANSIENT, o.persistent) &&
    pick(L.AUTOSTART, L.NO_AUTOSTART, o.autostart)
  );
}
