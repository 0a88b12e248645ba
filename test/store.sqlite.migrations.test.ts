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
    db.prepare(
      "INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset) VALUES ('log_1', '', 0, 0, 0, 0, 0, 3)",
    ).run();
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

  it('006 marks messages whose time is before an earlier one as late, and records the largest message and latest time of each log', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'hooklog.db'));
    migrate(db, { through: 5 });
    db.prepare(
      "INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset) VALUES ('log_1', '', 0, 0, 60, 0, 0, 4)",
    ).run();
    const insert = db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) VALUES (1, ?, ?, NULL, ?, ?)');
    insert.run(0, 100, Buffer.from('a'), null);
    insert.run(1, 300, Buffer.from('b'), null);
    insert.run(2, 200, Buffer.alloc(10), '{"h":"é"}');
    insert.run(3, 300, Buffer.from('d'), null);
    db.close();

    const migrated = new Database(join(dir, 'hooklog.db'));
    migrate(migrated);
    expect(migrated.prepare('SELECT msg_offset FROM messages WHERE late = 1').all()).toEqual([{ msg_offset: 2 }]);
    expect(migrated.prepare('SELECT max_message_bytes, max_time FROM logs').get()).toEqual({
      max_message_bytes: 10 + Buffer.byteLength('{"h":"é"}'),
      max_time: 300,
    });
    migrated.close();

    // Trimming finds the late message after young ones.
    const store = openSqliteStore(dir);
    expect(await store.retention.trimByAge('log_1', 250, 1000)).toBe(2);
    expect((await store.messages.read('log_1', 0, 10)).map((m) => m.offset)).toEqual([1, 3]);
    await store.close();
  });

  it('009 leaves earlier messages without attributes, and later ones keep theirs', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'hooklog.db'));
    migrate(db, { through: 8 });
    db.prepare(
      "INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset) VALUES ('log_1', '', 0, 0, 0, 0, 0, 1)",
    ).run();
    db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) VALUES (1, 0, 10, ?, ?, ?)').run(
      Buffer.from('k'),
      Buffer.from('v'),
      '{"h":"v"}',
    );
    db.close();

    const store = openSqliteStore(dir);
    await store.messages.append([{ logId: 'log_1', messages: [{ key: null, value: Buffer.from('after'), attributes: { eventType: 'push' } }] }], 20);
    const [before, after] = await store.messages.read('log_1', 0, 10, { headers: true });
    expect(before).toEqual({ offset: 0, time: 10, key: Buffer.from('k'), value: Buffer.from('v'), headers: { h: 'v' } });
    expect(after?.attributes).toEqual({ eventType: 'push' });
    expect((await store.messages.getByKey('log_1', Buffer.from('k')))?.offset).toBe(0);
    await store.close();
  });
});
