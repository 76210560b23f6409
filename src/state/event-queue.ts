// The event queue: callbacks registered by event id and optional object filter, events
// delivered asynchronously in emission order (libvirt's virObjectEventState queues events and
// dispatches them from the event loop, never inside the API call that caused them).

export interface EventRegistration<E> {
  id: number;
  eventId: number;
  /** Object key to match (a UUID), or null for every object. */
  key: string | null;
  cb: (ev: E) => void;
}

export class EventQueue<E extends { eventId: number }> {
  private nextId = 1;
  private readonly regs = new Map<number, EventRegistration<E>>();
  private readonly pendingEvents: E[] = [];
  private scheduled = false;

  /** `keyOf` extracts the object key of an event (the domain's UUID, ...). */
  constructor(private readonly keyOf: (ev: E) => string) {}

  register(eventId: number, key: string | null, cb: (ev: E) => void): number {
    const id = this.nextId++;
    this.regs.set(id, { id, eventId, key, cb });
    return id;
  }

  /** False when the id is unknown. */
  deregister(id: number): boolean {
    return this.regs.delete(id);
  }

  get registrations(): number {
    return this.regs.size;
  }

  /** Queues an event; delivery happens on a later tick. */
  emit(ev: E): void {
    if (this.regs.size === 0) return;
    this.pendingEvents.push(ev);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Delivers queued events now (also used by tests). A throwing callback does not stop others. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pendingEvents.splice(0);
    for (const ev of batch) {
      const key = this.keyOf(ev);
      for (const r of [...this.regs.values()]) {
        if (r.eventId !== ev.eventId || (r.key !== null && r.key !== key)) continue;
        try {
          r.cb(ev);
        } catch {
          // A subscriber's bug must not break delivery to the others.
        }
      }
    }
  }
}
