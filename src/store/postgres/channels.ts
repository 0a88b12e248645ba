import { type ChannelRow, toChannel } from '../rows.js';
import type { ChannelStore } from '../store.js';
import type { Db } from './db.js';

const COLUMNS = 'name, log_id, source_id, cursor, from_config, created_at';

/**
 * Kaiman Webhooks Proxy channels. A hold is a row update, so readers on
 * several nodes take turns: only one holds a channel until it releases it or
 * its hold runs out (a node that died mid-read).
 */
export function postgresChannels(db: Db): ChannelStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<ChannelRow>({ text, values });
    return row && toChannel(row);
  };
  return {
    async create(channel, tokenHash) {
      // DO NOTHING on either unique column: a taken name or token hash writes nothing.
      const { rowCount } = await db.query({
        text: `INSERT INTO channels (name, log_id, source_id, token_hash, cursor, from_config, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        values: [channel.name, channel.logId, channel.sourceId, tokenHash, channel.cursor, channel.fromConfig, channel.createdAt],
      });
      return rowCount === 1;
    },
    get: (name) => one(`SELECT ${COLUMNS} FROM channels WHERE name = $1`, [name]),
    byTokenHash: (tokenHash) => one(`SELECT ${COLUMNS} FROM channels WHERE token_hash = $1`, [tokenHash]),
    async list() {
      return (await db.rows<ChannelRow>({ text: `SELECT ${COLUMNS} FROM channels ORDER BY name COLLATE "C"` })).map(toChannel);
    },
    setTokenHash: (name, tokenHash) => one(`UPDATE channels SET token_hash = $2 WHERE name = $1 RETURNING ${COLUMNS}`, [name, tokenHash]),
    setSource: (name, sourceId) => one(`UPDATE channels SET source_id = $2 WHERE name = $1 RETURNING ${COLUMNS}`, [name, sourceId]),
    delete: (name) => one(`DELETE FROM channels WHERE name = $1 RETURNING ${COLUMNS}`, [name]),
    async hold(name, reader, nowMs, untilMs) {
      // One statement: the row lock makes two readers racing for a free channel take turns, and the second sees it held.
      const [row] = await db.rows<{ cursor: number }>({
        text: `UPDATE channels SET reader = $2, read_until = $4
               WHERE name = $1 AND (reader IS NULL OR reader = $2 OR read_until <= $3) RETURNING cursor`,
        values: [name, reader, nowMs, untilMs],
      });
      return row?.cursor;
    },
    async release(name, reader, cursor) {
      const { rowCount } = await db.query({
        text: 'UPDATE channels SET reader = NULL, read_until = NULL, cursor = coalesce($3, cursor) WHERE name = $1 AND reader = $2',
        values: [name, reader, cursor],
      });
      return rowCount === 1;
    },
  };
}
