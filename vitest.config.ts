import { defineConfig } from 'vitest/config';

const shared = {
  setupFiles: ['test/helpers/setup.ts'],
  // Gives the run a directory for its servers' logs, and fails it if they hold a secret the tests used.
  globalSetup: ['test/helpers/log-check.ts'],
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
};

/** Tests that drive the server through its API, run a second time over PostgreSQL. */
const API_TESTS = [
  'test/api.*.test.ts',
  'test/egress.api.test.ts',
  'test/egress.delivery.test.ts',
  'test/egress.options.test.ts',
  'test/egress.operations.test.ts',
  'test/egress.transformation.test.ts',
  'test/cli.transformation.test.ts',
  'test/ingress.*.test.ts',
  'test/retention.test.ts',
  'test/cli.egress.test.ts',
  'test/svix.*.test.ts',
  'test/events.*.test.ts',
  'test/kwp.*.test.ts',
  'test/metrics.test.ts',
];

/**
 * Two projects run side by side: every test, the API tests over SQLite (with the PostgreSQL
 * store conformance and the multi-node tests), and the API tests again over
 * PostgreSQL, each server in a fresh schema. Tests that restart the
 * PostgreSQL server run alone afterwards (vitest.outage.config.ts).
 */
export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/**/*.outage.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'postgres',
          include: API_TESTS,
          env: { HOOKLOG_TEST_BACKEND: 'postgres' },
          setupFiles: [...shared.setupFiles, 'test/helpers/postgres-setup.ts'],
        },
      },
    ],
  },
});
