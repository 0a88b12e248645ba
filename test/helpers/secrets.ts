import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * The secrets a test run made or was given, and the logs its servers wrote:
 * both go to the run's directory (made by test/helpers/log-check.ts), whose
 * teardown fails the run if any log holds any secret.
 *
 * Recorded: every bearer sent (Authorization), every value under a key that
 * names a secret in a JSON body sent or received (secret, token, bearer, key,
 * password…, not their ids or header names), secrets in the URLs fetched
 * (passwords, `?token=`), the admin token and channel secrets given to
 * servers, and secrets in the environment or arguments of spawned processes.
 */

/** Shorter values are not searched for: they would match ordinary text of a log by chance. */
export const MIN_SECRET_LENGTH = 10;

declare module 'vitest' {
  export interface ProvidedContext {
    logDir: string;
  }
}

/** The run's directory: secrets-<pid>.txt, and the logs of in-process (server-<pid>.log) and spawned (process-*.log) servers. */
export function logDir(): string {
  return inject('logDir');
}

const recorded = new Set<string>();

/** Records one secret, once per worker; one JSON string per line, since a secret may hold any character. */
export function recordSecret(value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || recorded.has(value)) return;
  recorded.add(value);
  appendFileSync(join(logDir(), `secrets-${process.pid}.txt`), `${JSON.stringify(value)}\n`, { mode: 0o600 });
}

/** A key naming a secret, and not an id, a header's name, a kind or a count of one. */
const SECRET_KEY = /secret|token|bearer|password|^key$/i;
const NOT_SECRET_KEY = /(_id|Id|_ids|Ids|header|Header|_type|Type|_count|Count|_at|At|expiry|_header_name)$|^(id|uid)$/;

/** Records the values under secret-naming keys anywhere in a parsed JSON value. */
export function recordSecretsIn(value: unknown, key = ''): void {
  if (Array.isArray(value)) {
    for (const item of value) recordSecretsIn(item, key);
  } else if (value !== null && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) recordSecretsIn(item, name);
  } else if (typeof value === 'string' && SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key)) {
    recordSecret(value);
  }
}

/** Records the secrets of a JSON text; other text is ignored. */
export function recordSecretsInText(text: string): void {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return;
  try {
    recordSecretsIn(JSON.parse(text));
  } catch {
    // Not JSON after all (a truncated or streamed body): nothing to record.
  }
}

/** The bearer of an Authorization header value. */
export function recordAuthorization(header: string | null | undefined): void {
  const bearer = header?.match(/^Bearer +(\S+)/i)?.[1];
  if (bearer) recordSecret(bearer);
}

/** The environment of a spawned process: values of variables that name a secret (HOOKLOG_ADMIN_TOKEN, HOOKLOG_TOKEN…), and passwords in URLs (HOOKLOG_DATABASE_URL). */
export function recordSecretsInEnv(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) {
    if (/TOKEN|SECRET|PASSWORD/.test(name)) recordSecret(value);
    else if (value && URL.canParse(value)) recordSecretsInUrl(value);
  }
}

/** A URL's password, and the values of query parameters that name a secret (Svix's `?token=`, `?password=`). */
export function recordSecretsInUrl(url: string | URL): void {
  if (!URL.canParse(String(url))) return;
  const parsed = new URL(url);
  // As a log would show it: percent-encoded in a URL, decoded elsewhere.
  recordSecret(parsed.password);
  try {
    recordSecret(decodeURIComponent(parsed.password));
  } catch {
    // Not valid percent-encoding: the raw form is recorded.
  }
  for (const [name, value] of parsed.searchParams) if (SECRET_KEY.test(name) && !NOT_SECRET_KEY.test(name)) recordSecret(value);
}

/** Command-line arguments: the value after a flag that names a secret (--secret, --token, --channel-token). */
export function recordSecretsInArgs(args: readonly string[]): void {
  args.forEach((arg, i) => {
    if (/^--.*(secret|token)$/.test(arg)) recordSecret(args[i + 1]);
    else if (/^--.*(secret|token)=/.test(arg)) recordSecret(arg.slice(arg.indexOf('=') + 1));
  });
}

const pending = new Set<Promise<void>>();

/** Responses still being read for secrets; the setup file waits for them before the worker ends. */
export async function recordingDone(): Promise<void> {
  await Promise.all(pending);
}

const WRAPPED = Symbol.for('hooklog.test.fetch-records-secrets');

/**
 * Wraps the global fetch, which the request helpers, the tests and the Svix
 * SDK all use, so that every bearer sent and every secret in a JSON body sent
 * or received is recorded, however the test made the call.
 */
export function recordSecretsOfFetch(): void {
  const original = globalThis.fetch as typeof fetch & { [WRAPPED]?: true };
  if (original[WRAPPED]) return;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    recordSecretsInUrl(input instanceof Request ? input.url : input);
    recordAuthorization(new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get('authorization'));
    if (typeof init?.body === 'string') recordSecretsInText(init.body);
    const response = await original(input, init);
    if (response.headers.get('content-type')?.includes('json')) {
      const reading = response
        .clone()
        .text()
        .then(recordSecretsInText, () => {})
        .finally(() => pending.delete(reading));
      pending.add(reading);
    }
    return response;
  };
  globalThis.fetch = Object.assign(wrapped, { [WRAPPED]: true as const });
}
