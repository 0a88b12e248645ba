import { defineConfig } from 'vitest/config';

/** Tests that crash and restart a private PostgreSQL cluster under load: alone, after the rest, so that no other test competes with their timing. */
export default defineConfig({
  test: {
    include: ['test/**/*.outage.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    // Gives the run a directory for its servers' logs, and fails it if they hold a secret the tests used.
    globalSetup: ['test/helpers/log-check.ts'],
    testTimeout: 90_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
