// The four name-listing driver slots shared by every object kind that is active or not
// (connectNumOfX, connectListX, connectNumOfDefinedX, connectListDefinedX), as libvirt's
// vir*ObjListNumOf* / vir*ObjListGetNames: count or name the active (or the inactive) objects.

/** An object that can be listed by these slots. */
export interface ActiveNamed {
  name: string;
  active: boolean;
}

/** What the slots need of a list: an ObjectList or a plain array. */
export interface FilterableList<T> {
  filter(pred: (o: T) => boolean): T[];
}

/** The four slots for kind K ("Networks", "StoragePools", "Interfaces"), ready to spread into a driver table. */
export type ActiveListSlots<K extends string> = Record<
  `connectNumOf${K}` | `connectNumOfDefined${K}`,
  () => Promise<number>
> &
  Record<`connectList${K}` | `connectListDefined${K}`, (max: number) => Promise<string[]>>;

/** Objects whose active flag equals `active`, counted. */
export function countActive<T extends ActiveNamed>(list: FilterableList<T>, active: boolean): number {
  return list.filter((o) => o.active === active).length;
}

/** Names of the first `max` objects whose active flag equals `active`, in list order. */
export function namesActive<T extends ActiveNamed>(
  list: FilterableList<T>,
  active: boolean,
  max: number,
): string[] {
  return list
    .filter((o) => o.active === active)
    .map((o) => o.name)
    .slice(0, max);
}

/**
 * Builds the four slots for kind K over the list `get` returns (a getter, because some owners
 * swap the list object, e.g. the test driver's interface transaction rollback).
 */
export function activeListSlots<K extends string, T extends ActiveNamed>(
  kind: K,
  get: () => FilterableList<T>,
): ActiveListSlots<K> {
  const slots: Record<string, unknown> = {
    [`connectNumOf${kind}`]: async () => countActive(get(), true),
    [`connectList${kind}`]: async (max: number) => namesActive(get(), true, max),
    [`connectNumOfDefined${kind}`]: async () => countActive(get(), false),
    [`connectListDefined${kind}`]: async (max: number) => namesActive(get(), false, max),
  };
  return slots as ActiveListSlots<K>;
}
