import type { Database } from 'better-sqlite3';
import { type ChannelRow, toChannel } from '../rows.js';
import type { ChannelStore } from '../store.js';

const COLUMNS = 'name, log_id, source_id, cursor, from_config, created_at';

/** Kaiman Webhooks Proxy channels. One process owns the file, so a hold only guards against this process's own readers. */
export function sqliteChannels(db: Database, durable: () => Promise<void>): ChannelStore {
  // OR IGNORE: a taken name or token hash writes nothing.
  const insert = db.prepare(
    `INSERT OR IGNORE INTO channels (name, log_id, source_id, token_hash, cursor, from_config, created_at)
     VALUES (@name, @logId, @sourceId, @tokenHash, @cursor, @fromConfig, @createdAt)`,
  );
  const byName = db.prepare<[string], ChannelRow>(`SELECT ${COLUMNS} FROM channels WHERE name = ?`);
  const byTokenHash = db.prepare<[string], ChannelRow>(`SELECT ${COLUMNS} FROM channels WHERE token_hash = ?`);
  const all = db.prepare<[], ChannelRow>(`SELECT ${COLUMNS} FROM channels ORDER BY name`);
  const setTokenHash = db.prepare<[string, string], ChannelRow>(`UPDATE channels SET token_hash = ? WHERE name = ? RETURNING ${COLUMNS}`);
  const setSource = db.prepare<[string, string], ChannelRow>(`UPDATE channels SET source_id = ? WHERE name = ? RETURNING ${COLUMNS}`);
  const remove = db.prepare<[string], ChannelRow>(`DELETE FROM channels WHERE name = ? RETURNING ${COLUMNS}`);
  const hold = db.prepare<[{ name: string; reader: string; nowMs: number; untilMs: number }], { cursor: number }>(
    `UPDATE channels SET reader = @reader, read_until = @untilMs
     WHERE name = @name AND (reader IS NULL OR reader = @reader OR read_until <= @nowMs) RETURNING cursor`,
  );
  const release = db.prepare<[{ name: string; reader: string; cursor: number | null }]>(
    `UPDATE channels SET reader = NULL, read_until = NULL, cursor = coalesce(@cursor, cursor) WHERE name = @name AND reader = @reader`,
  );

  const one = (row: ChannelRow | undefined) => row && toChannel(row);
  return {
    async create(channel, tokenHash) {
      const { changes } = insert.run({ ...channel, fromConfig: channel.fromConfig ? 1 : 0, tokenHash });
      await durable();
      return changes === 1;
    },
    async get(name) {
      return one(byName.get(name));
    },
    async byTokenHash(tokenHash) {
      return one(byTokenHash.get(tokenHash));
    },
    async list() {
      return all.all().map(toChannel);
    },
    async setTokenHash(name, tokenHash) {
      const row = setTokenHash.get(tokenHash, name);
      await durable();
      return one(row);
    },
    async setSource(name, sourceId) {
      const row = setSource.get(sourceId, name);
      await durable();
      return one(row);
    },
    async delete(name) {
      const row = remove.get(name);
      await durable();
      return one(row);
    },
    async hold(name, reader, nowMs, untilMs) {
      // A hold is lost with the process, so it needs no flush; the cursor moved by release does.
      return hold.get({ name, reader, nowMs, untilMs })?.cursor;
    },
    async release(name, reader, cursor) {
      const { changes } = release.run({ name, reader, cursor });
      if (cursor !== null) await durable();
      return changes === 1;
    },
  };
}
