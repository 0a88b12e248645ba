import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { migrate } from '../src/store/sqlite/migrate.js';
import { tempDir } from './helpers/server.js';

describe('sqlite migrations', () => {
  it('004 moves messages to a rowid table with every byte, offset and header intact', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'hooklog.db'));
    migrate(db, { through: 3 });
    db.prepare("INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset) VALUES ('log_1', '', 0, 0, 0, 0, 0, 3)").run();
    const insert = db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) VALUES (1, ?, ?, ?, ?, ?)');
    insert.run(0, 10, Buffer.from('k'), Buffer.from([0, 255]), '{"x-event":"push"}');
    insert.run(1, 20, null, null, null);
    insert.run(2, 30, Buffer.alloc(0), Buffer.alloc(0), null);
    db.close();

    const store = openSqliteStore(dir);
    const messages = await store.messages.read('log_1', 0, 10, { headers: true });
    expect(messages).toEqual([
      { offset: 0, time: 10, key: Buffer.from('k'), value: Buffer.from([0, 255]), headers: { 'x-event': 'push' } },
      { offset: 1, time: 20, key: null, value: null },
      { offset: 2, time: 30, key: Buffer.alloc(0), value: Buffer.alloc(0) },
    ]);
    expect((await store.messages.getByKey('log_1', Buffer.from('k')))?.offset).toBe(0);
    const [outcome] = await store.messages.append([{ logId: 'log_1', messages: [{ key: null, value: Buffer.from('after') }] }], 40);
    expect(outcome).toEqual({ nextOffset: 4 });
    await store.close();
  });
});
