import { defineConfig } from 'vitest/config';

/** Tests that stop and start the local PostgreSQL server: alone, after the rest, so that no other test sees the outage. */
export default defineConfig({
  test: {
    include: ['test/**/*.outage.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
