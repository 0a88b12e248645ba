import { demand, onLog, type Principal } from '../auth/principal.js';
import { fail } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { type CursorOffset, OFFSET_END } from '../domain/types.js';
import type { LogStore, OffsetStore } from '../store/store.js';

/** Cursor offsets: stored positions in a log that consumers resume from. */
export class Offsets {
  constructor(
    private readonly offsets: OffsetStore,
    private readonly logs: Pick<LogStore, 'get'>,
  ) {}

  /**
   * A new offset points at the end of its log (-1), so a consumer using it
   * sees only new messages. A cursor is a consumer's position: keeping one in
   * a log, as creating or setting it does, needs the right to consume it.
   */
  async create(by: Principal, logId: string, metadata: string): Promise<CursorOffset> {
    demand(by, onLog('consume', logId));
    if (!(await this.logs.get(logId))) fail('log_not_found', `log '${logId}' does not exist`);
    const offset: CursorOffset = { id: newId('off'), logId, metadata, value: OFFSET_END, valueMetadata: '' };
    await this.offsets.create(offset);
    return offset;
  }

  async get(id: string): Promise<CursorOffset> {
    return (await this.offsets.get(id)) ?? notFound(id);
  }

  list(filter: { logId?: string; metadata?: string }): Promise<CursorOffset[]> {
    return this.offsets.list(filter);
  }

  async set(by: Principal, id: string, value: number, valueMetadata: string): Promise<CursorOffset> {
    demand(by, onLog('consume', (await this.get(id)).logId));
    return (await this.offsets.set(id, value, valueMetadata)) ?? notFound(id);
  }

  /** Removing a cursor moves its consumer back to where it starts: that needs the right to consume the log, as setting it does. */
  async delete(by: Principal, id: string): Promise<CursorOffset> {
    demand(by, onLog('consume', (await this.get(id)).logId));
    return (await this.offsets.delete(id)) ?? notFound(id);
  }

  /** The start position stored in `id`, checked to belong to `logId`. */
  async startFor(id: string, logId: string): Promise<number> {
    const offset = await this.get(id);
    if (offset.logId !== logId) fail('offset_log_mismatch', `offset '${id}' belongs to log '${offset.logId}', not '${logId}'`);
    return offset.value;
  }
}

function notFound(id: string): never {
  fail('offset_not_found', `offset '${id}' does not exist`);
}
