import { ApiException } from 'svix';
import { expect } from 'vitest';

/** The error a Svix SDK call failed with: its status and body; the test fails if the call succeeded. */
export async function refusal(call: Promise<unknown>): Promise<{ code: number; body: any }> {
  const err = await call.then(
    () => expect.fail('the call succeeded'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  return { code: (err as ApiException<unknown>).code, body: (err as ApiException<unknown>).body };
}
