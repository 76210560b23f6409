// Per-object job lock: serializes the operations that change one object (libvirt's
// virDomainObjBeginJob) while letting operations on different objects run concurrently.

export class JobLock {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;

  /** Number of jobs holding or waiting for the lock. */
  get pending(): number {
    return this.depth;
  }

  /** Runs `fn` once every earlier job on this lock has finished; the lock is released even on throw. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    this.depth++;
    try {
      await prev;
      return await fn();
    } finally {
      this.depth--;
      release();
    }
  }
}

/** A map of job locks keyed by object (UUID), dropped when idle. */
export class JobLocks {
  private readonly locks = new Map<string, JobLock>();

  async run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    let lock = this.locks.get(key);
    if (!lock) {
      lock = new JobLock();
      this.locks.set(key, lock);
    }
    try {
      return await lock.run(fn);
    } finally {
      if (lock.pending === 0 && this.locks.get(key) === lock) this.locks.delete(key);
    }
  }
}
