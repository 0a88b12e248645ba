import type { Channel } from '../domain/types.js';

/** A `channels` row as both backends read it; PostgreSQL's booleans and SQLite's 0/1 both map to fromConfig. */
export interface ChannelRow {
  name: string;
  log_id: string;
  source_id: string;
  cursor: number;
  from_config: boolean | number;
  created_at: number;
}

export const toChannel = (row: ChannelRow): Channel => ({
  name: row.name,
  logId: row.log_id,
  sourceId: row.source_id,
  cursor: Number(row.cursor),
  fromConfig: Boolean(row.from_config),
  createdAt: Number(row.created_at),
});
