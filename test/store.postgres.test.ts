import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { migratePostgres } from '../src/store/postgres/migrate.js';
import { adminQuery, createSchema, postgresAvailable, type TestSchema } from './helpers/postgres.js';
import { describeChannelStoreConformance } from './store.conformance.channels.js';
import { describeEventStoreConformance } from './store.conformance.events.js';
import { describeStoreConformance } from './store.conformance.js';
import { describeSvixStoreConformance } from './store.conformance.svix.js';

const available = await postgresAvailable();
const schemas: TestSchema[] = [];
// One at a time: each drop locks every table of its schema, and all of them at once overflow the server's lock table.
afterAll(async () => {
  for (const schema of schemas) await schema.drop();
});
const freshSchema = async () => {
  const schema = await createSchema();
  schemas.push(schema);
  return schema;
};

const harness = { make: async () => openPostgresStore((await freshSchema()).url, { poolSize: 4 }) };
describeStoreConformance('postgres', harness, available);
describeSvixStoreConformance('postgres', harness, available);
describeEventStoreConformance('postgres', harness, available);
describeChannelStoreConformance('postgres', harness, available);

describe.runIf(available)('postgres migrations', () => {
  it('nodes migrating at once take turns: each migration is applied exactly once', async () => {
    const schema = await freshSchema();
    const applied = await Promise.all(Array.from({ length: 4 }, () => migratePostgres(schema.url)));
    const versions = readdirSync(new URL('../migrations/postgres/', import.meta.url))
      .map((name) => Number.parseInt(name, 10))
      .sort((a, b) => a - b);
    expect(applied.flat().sort((a, b) => a - b)).toEqual(versions);
    const recorded = await adminQuery(`SELECT version FROM ${schema.name}.schema_migrations`);
    expect(recorded.rows.map((row) => row.version)).toEqual(versions);
    expect(await migratePostgres(schema.url)).toEqual([]);
  });

  it('refuses a search_path whose schema does not exist, with a message that says so', async () => {
    const url = new URL((await freshSchema()).url);
    url.searchParams.set('options', '-c search_path=hooklog_no_such_schema');
    await expect(migratePostgres(url.toString())).rejects.toThrow(/create it first/);
  });

  it('002 marks messages whose time is before an earlier one as late, and records the latest time of each log', async () => {
    const schema = await freshSchema();
    await migratePostgres(schema.url, { through: 1 });
    await adminQuery(`SET search_path = ${schema.name}; INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset)
      VALUES ('log_1', '', false, 0, 60, 0, 0, 4);
      INSERT INTO messages (log_seq, msg_offset, time, key, value) SELECT seq, o, t, NULL, 'x' FROM logs, (VALUES (0, 100), (1, 300), (2, 200), (3, 300)) AS m(o, t)`);
    expect(await migratePostgres(schema.url, { through: 2 })).toEqual([2]);
    expect((await adminQuery(`SELECT msg_offset FROM ${schema.name}.messages WHERE late`)).rows).toEqual([{ msg_offset: '2' }]);
    expect((await adminQuery(`SELECT max_time FROM ${schema.name}.logs`)).rows).toEqual([{ max_time: '300' }]);
    const store = await openPostgresStore(schema.url, { poolSize: 2 });
    try {
      expect(await store.retention.trimByAge('log_1', 250, 1000)).toBe(2);
      expect((await store.messages.read('log_1', 0, 10)).map((m) => m.offset)).toEqual([1, 3]);
    } finally {
      await store.close();
    }
  });

  it('004 records the largest message of each log, so that reads of logs made before it still stop at their byte limit', async () => {
    const schema = await freshSchema();
    await migratePostgres(schema.url, { through: 3 });
    await adminQuery(`SET search_path = ${schema.name}; INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset)
      VALUES ('log_1', '', false, 0, 0, 0, 0, 3), ('log_2', '', false, 0, 0, 0, 0, 0);
      INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) SELECT seq, o, 1, k, v, h FROM logs,
        (VALUES (0, NULL::bytea, repeat('x', 10)::bytea, NULL), (1, 'kk'::bytea, repeat('x', 300)::bytea, '{"a":"b"}'), (2, NULL, 'x'::bytea, NULL)) AS m(o, k, v, h)
        WHERE id = 'log_1'`);
    expect(await migratePostgres(schema.url, { through: 4 })).toEqual([4]);
    const sizes = await adminQuery(`SELECT id, max_message_bytes FROM ${schema.name}.logs ORDER BY id`);
    expect(sizes.rows).toEqual([
      { id: 'log_1', max_message_bytes: String(2 + 300 + '{"a":"b"}'.length) },
      { id: 'log_2', max_message_bytes: '0' },
    ]);
    const store = await openPostgresStore(schema.url, { poolSize: 2 });
    try {
      expect((await store.messages.read('log_1', 0, 10, { maxBytes: 100 })).map((m) => m.offset)).toEqual([0]);
    } finally {
      await store.close();
    }
  });

  it('006 leaves earlier messages without attributes, and later ones keep theirs', async () => {
    const schema = await freshSchema();
    await migratePostgres(schema.url, { through: 5 });
    await adminQuery(`SET search_path = ${schema.name}; INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset)
      VALUES ('log_1', '', false, 0, 0, 0, 0, 1);
      INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) SELECT seq, 0, 10, 'k'::bytea, 'v'::bytea, '{"h":"v"}' FROM logs`);
    expect(await migratePostgres(schema.url, { through: 6 })).toEqual([6]);
    const store = await openPostgresStore(schema.url, { poolSize: 2 });
    try {
      await store.messages.append([{ logId: 'log_1', messages: [{ key: null, value: Buffer.from('after'), attributes: { eventType: 'push' } }] }], 20);
      const [before, after] = await store.messages.read('log_1', 0, 10, { headers: true });
      expect(before).toEqual({ offset: 0, time: 10, key: Buffer.from('k'), value: Buffer.from('v'), headers: { h: 'v' } });
      expect(after?.attributes).toEqual({ eventType: 'push' });
      expect((await store.messages.getByKey('log_1', Buffer.from('k')))?.offset).toBe(0);
    } finally {
      await store.close();
    }
  });
});
