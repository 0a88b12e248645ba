import { afterAll, expect } from 'vitest';
import { recordingDone, recordSecretsOfFetch } from './secrets.js';
import { openServers } from './server.js';

// Every bearer and secret a test sends or receives over HTTP, for the run's check of the logs (test/helpers/log-check.ts).
recordSecretsOfFetch();
afterAll(() => recordingDone());

// A file that leaves a server running leaks ports, timers and open databases
// into the rest of the run. After-hooks run in stack order, so this runs after
// the file's own afterAll and sees what it forgot to close.
afterAll(() => {
  expect(openServers(), 'a test file left a hooklog server running').toBe(0);
});
