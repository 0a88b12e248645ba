import { afterAll, beforeAll } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { cliJson } from './process.js';
import { ADMIN, startTestServer, type TestServer } from './server.js';

export interface CliFixture {
  /** Runs the built CLI against the file's server and parses its JSON output. */
  cli(...args: string[]): Promise<any>;
  /** HOOKLOG_URL and HOOKLOG_TOKEN for the file's server. */
  readonly env: Record<string, string>;
  readonly server: TestServer;
}

/** Starts one server for the test file (closed after it) and points the CLI at it. Read `env` and `server` from the fixture inside tests (not by destructuring it at the top): they exist once the file's beforeAll ran. */
export function useCliServer(overrides: Partial<Config> = {}): CliFixture {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(overrides);
  });
  afterAll(async () => {
    await server?.close();
  });
  const fixture: CliFixture = {
    cli: (...args) => cliJson(args, fixture.env),
    get env() {
      return { HOOKLOG_URL: fixture.server.url, HOOKLOG_TOKEN: ADMIN };
    },
    get server() {
      if (!server) throw new Error('the CLI test server is not started yet');
      return server;
    },
  };
  return fixture;
}
