import { type FileHandle, open } from 'node:fs/promises';

/**
 * Makes committed transactions durable without blocking the event loop.
 *
 * The database runs WAL with synchronous=NORMAL: a commit write()s its frames
 * to the WAL, which survives a crash of this process but not of the machine.
 * Before a write is acknowledged, `sync()` fdatasyncs the WAL file on libuv's
 * thread pool, which is what synchronous=FULL would do, minus the stall:
 * requests keep being parsed while the disk flushes.
 *
 * Calls coalesce: every caller gets a flush that started after its call, and
 * all callers that arrive during one flush share the next.
 */
export class WalSync {
  private handle: Promise<FileHandle> | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  sync(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    this.next = this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  async close(): Promise<void> {
    await this.next?.catch(() => {});
    await this.running?.catch(() => {});
    if (this.handle) await (await this.handle).close();
  }

  private start(): Promise<void> {
    this.next = null;
    // Opened on first use: the WAL file exists once the first commit is written.
    // fdatasync flushes the file itself, whichever descriptor wrote it.
    this.handle ??= open(this.walPath, 'r').catch((err: unknown) => {
      this.handle = null;
      throw err;
    });
    const run: Promise<void> = this.handle
      .then((handle) => handle.datasync())
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    this.running = run;
    return run;
  }
}
