import { fail } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Log, RetentionSettings } from '../domain/types.js';
import type { LogStore } from '../store/store.js';

/**
 * Longest retention period, in seconds: a century. Periods are turned into
 * microsecond times, which must stay exact numbers (below 2^53) and within
 * the database's 64-bit integers.
 */
export const MAX_RETENTION_SECONDS = 100 * 365 * 24 * 3600;

export interface NewLog extends Partial<RetentionSettings> {
  metadata?: string;
}

/** Logs and their retention settings. */
export class Logs {
  constructor(private readonly logs: LogStore) {}

  async create(input: NewLog): Promise<Log> {
    const settings: RetentionSettings = {
      compacting: input.compacting ?? false,
      trimBytes: input.trimBytes ?? 0,
      trimSeconds: input.trimSeconds ?? 0,
      compactSeconds: input.compactSeconds ?? 0,
      expireSeconds: input.expireSeconds ?? 0,
    };
    for (const [field, seconds] of [
      ['trim_seconds', settings.trimSeconds],
      ['compact_seconds', settings.compactSeconds],
      ['expire_seconds', settings.expireSeconds],
    ] as const) {
      if (seconds > MAX_RETENTION_SECONDS) fail('field_invalid', `${field} may be at most ${MAX_RETENTION_SECONDS} (a century)`);
    }
    // Compaction only runs on compacting logs; accepting the setting elsewhere
    // would promise a clean-up that never happens.
    if (settings.compactSeconds > 0 && !settings.compacting) {
      fail('field_invalid', 'compact_seconds applies to compacting logs only: set compacting to true');
    }
    return this.logs.create({ id: newId('log'), metadata: input.metadata ?? '', ...settings });
  }

  async get(id: string): Promise<Log> {
    return (await this.logs.get(id)) ?? notFound(id);
  }

  list(filter: { metadata?: string }): Promise<Log[]> {
    return this.logs.list(filter);
  }

  /** The log disappears at once; its messages are purged by the retention job. */
  async delete(id: string): Promise<Log> {
    return (await this.logs.delete(id)) ?? notFound(id);
  }
}

function notFound(id: string): never {
  fail('log_not_found', `log '${id}' does not exist`);
}
