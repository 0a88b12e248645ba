import type { Config } from '../../src/config/schema.js';
import { type Receiver, startReceiver } from './receiver.js';
import { startTestServer, type TestServer } from './server.js';

/** What the egress tests start from: a server that may deliver to localhost, a receiver, and an empty log. */
export interface EgressSetUp {
  s: TestServer;
  receiver: Receiver;
  log: string;
}

/** Retries a tenth of a second apart and a short timeout, so that schedules run out within a test. */
export const FAST_RETRIES: Partial<Config> = { retrySchedule: [0, 0.1, 0.1, 0.1], deliveryTimeoutSeconds: 0.5 };

export async function egressSetUp(overrides: Partial<Config> = {}): Promise<EgressSetUp> {
  const s = await startTestServer({ allowPrivateDestinations: true, ...overrides });
  const receiver = await startReceiver();
  const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  return { s, receiver, log };
}

export async function egressTearDown({ s, receiver }: Pick<EgressSetUp, 's' | 'receiver'>): Promise<void> {
  await s.close();
  await receiver.close();
}

/** For dispatchers built by hand in tests that set no transformation: a run would be a bug of the lane. */
export const NO_TRANSFORMATIONS = { apply: () => Promise.reject(new Error('this test sets no transformation')) };
