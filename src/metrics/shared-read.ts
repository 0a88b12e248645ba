export interface SharedReadOptions {
  /** How long a scrape waits for a read, counted from when the read began. */
  deadlineMs: number;
  /** How long after a read ended scrapes take its result rather than start another. */
  reuseMs: number;
  /** Called once for a read that failed or passed its deadline. */
  onFailure: () => void;
}

interface Read {
  settled: Promise<void>;
  deadline: Promise<void>;
  endedAtMs: number | null;
}

/**
 * What a scrape reads from the store, read one at a time: the scrapes that
 * arrive while a read runs wait for that one, and those that arrive shortly
 * after it ended take its result, so that a flood of scrapes costs the
 * database one read. A scrape waits at most until the read's deadline, then
 * goes on without it: during a database outage or with the pool exhausted,
 * the rest of the metrics still answer at once.
 */
export class SharedRead {
  private current: Read | null = null;

  constructor(
    /** Reads and applies what it read; a read that fails applies nothing. */
    private readonly read: () => Promise<void>,
    private readonly options: SharedReadOptions,
  ) {}

  /** Resolves once a read recent enough has ended, or the running one's deadline has passed; never rejects. */
  async wait(): Promise<void> {
    const current = this.current;
    const stale = !current || (current.endedAtMs !== null && Date.now() - current.endedAtMs >= this.options.reuseMs);
    const read = stale ? (this.current = this.start()) : current;
    await Promise.race([read.settled, read.deadline]);
  }

  private start(): Read {
    const { deadlineMs, onFailure } = this.options;
    let failed = false;
    const fail = () => {
      if (!failed) onFailure();
      failed = true;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        fail();
        resolve();
      }, deadlineMs);
      timer.unref();
    });
    const entry: Read = { settled: Promise.resolve(), deadline, endedAtMs: null };
    entry.settled = this.read()
      .catch(fail)
      .finally(() => {
        clearTimeout(timer);
        entry.endedAtMs = Date.now();
      });
    return entry;
  }
}
