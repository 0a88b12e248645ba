import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the checkpointer copies the WAL's committed pages into the database file. */
const CHECKPOINT_MS = 100;

/**
 * The writer still checkpoints once the WAL holds this many pages (16 MiB of
 * 4 KiB pages). Under a steady stream of commits the thread's checkpoints never
 * quite catch up with the newest frame, and only a checkpoint that has copied
 * every frame lets the writer start the WAL over; the writer's own finds most
 * pages copied already, so it is short. If the thread died, it bounds the WAL.
 */
export const WRITER_CHECKPOINT_PAGES = 4_096;

// The thread's whole program. It runs as CommonJS from a string, so that it
// needs no file of its own beside the compiled module (tests run the sources).
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');
const checkpoint = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints the WAL on a thread of its own. A checkpoint writes pages into
 * the database file and fsyncs it; run by the writer, as SQLite does by
 * default, that stalls the event loop, and every request with it, each time
 * the WAL reaches 1,000 pages. A PASSIVE checkpoint takes no lock a writer
 * needs, so appends go on meanwhile; the writer restarts the WAL from its
 * start once everything in it is checkpointed.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(PROGRAM, { eval: true, workerData: { file, driver, everyMs: CHECKPOINT_MS } });
    // A thread that failed leaves checkpoints to the writer (WRITER_CHECKPOINT_PAGES).
    this.worker.on('error', () => {});
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
    // It must not keep a process alive that is otherwise done.
    this.worker.unref();
  }

  /** Runs a last checkpoint and stops the thread. */
  async close(): Promise<void> {
    this.worker.postMessage('stop');
    await this.exited;
  }
}
