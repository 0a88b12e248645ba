import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { migratePostgres } from '../src/store/postgres/migrate.js';
import { describeStoreConformance } from './store.conformance.js';
import { type TestSchema, adminQuery, createSchema, postgresAvailable } from './helpers/postgres.js';

const available = await postgresAvailable();
const schemas: TestSchema[] = [];
afterAll(async () => {
  await Promise.all(schemas.map((schema) => schema.drop()));
});
const freshSchema = async () => {
  const schema = await createSchema();
  schemas.push(schema);
  return schema;
};

describeStoreConformance('postgres', { make: async () => openPostgresStore((await freshSchema()).url, { poolSize: 4 }) }, available);

describe.runIf(available)('postgres migrations', () => {
  it('nodes migrating at once take turns: each migration is applied exactly once', async () => {
    const schema = await freshSchema();
    const applied = await Promise.all(Array.from({ length: 4 }, () => migratePostgres(schema.url)));
    expect(applied.flat().sort()).toEqual([1]);
    const recorded = await adminQuery(`SELECT version FROM ${schema.name}.schema_migrations`);
    expect(recorded.rows).toEqual([{ version: 1 }]);
    expect(await migratePostgres(schema.url)).toEqual([]);
  });

  it('refuses a search_path whose schema does not exist, with a message that says so', async () => {
    const url = new URL((await freshSchema()).url);
    url.searchParams.set('options', '-c search_path=hooklog_no_such_schema');
    await expect(migratePostgres(url.toString())).rejects.toThrow(/create it first/);
  });
});
