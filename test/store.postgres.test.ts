import { afterAll } from 'vitest';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { describeStoreConformance } from './store.conformance.js';
import { type TestSchema, createSchema, postgresAvailable } from './helpers/postgres.js';

const schemas: TestSchema[] = [];
afterAll(async () => {
  await Promise.all(schemas.map((schema) => schema.drop()));
});

describeStoreConformance(
  'postgres',
  {
    async make() {
      const schema = await createSchema();
      schemas.push(schema);
      return openPostgresStore(schema.url, { poolSize: 4 });
    },
  },
  await postgresAvailable(),
);
