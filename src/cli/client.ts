import { type Command, InvalidArgumentError } from 'commander';

/** Where the CLI sends requests when neither --url nor HOOKLOG_URL says. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** The exit code of a command that cannot call the API as configured (no token), as `serve` exits on a bad configuration. */
export const EXIT_NOT_CONFIGURED = 2;

/** Where the CLI sends requests: --url/--token, else HOOKLOG_URL/HOOKLOG_TOKEN. */
export interface ClientOptions {
  url: string;
  token?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    /** The answer's Retry-After in seconds, when it said to come back later (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(`HTTP ${status}`);
  }
}

export type QueryValues = Record<string, string | number | boolean | undefined>;

/** A path of the API (leading slash or not) under the server URL, which may itself have a path behind a proxy. */
export function urlOf(options: ClientOptions, path: string): URL {
  return new URL(path.replace(/^\//, ''), options.url.endsWith('/') ? options.url : `${options.url}/`);
}

/** One API call. Resolves with the parsed JSON body of a 2xx, rejects with ApiError otherwise. */
export async function call(options: ClientOptions, method: string, path: string, input: { query?: QueryValues; body?: unknown } = {}): Promise<unknown> {
  const url = urlOf(options, path);
  for (const [name, value] of Object.entries(input.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (input.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: input.body === undefined ? undefined : JSON.stringify(input.body) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): show the text as it came.
  }
  if (!response.ok) {
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    throw new ApiError(response.status, parsed, Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined);
  }
  return parsed;
}

/** The client options of the root program, which every command inherits. A variable set but empty (`HOOKLOG_URL=`) counts as unset. */
function clientOptions(command: Command): ClientOptions {
  const { url, token } = command.optsWithGlobals<{ url?: string; token?: string }>();
  return { url: url || DEFAULT_URL, token: token || undefined };
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs an action that returns JSON to print; an API error is printed and exits 1; without a token nothing is called and it exits 2. */
export function action<A extends unknown[]>(run: (options: ClientOptions, ...args: A) => Promise<unknown>) {
  return async (...args: unknown[]) => {
    const options = clientOptions(args.at(-1) as Command);
    if (!options.token) {
      // Every API call needs a bearer: say which variable to set rather than show the server's 401.
      process.stderr.write(
        'hooklog: no API token: set HOOKLOG_TOKEN (or pass --token) to the admin token the server printed at its first start, or to a bearer from `hooklog tokens create`\n',
      );
      process.exitCode = EXIT_NOT_CONFIGURED;
      return;
    }
    try {
      const result = await run(options, ...(args.slice(0, -1) as A));
      if (result !== undefined) printJson(result);
    } catch (err) {
      if (err instanceof ApiError) {
        process.stderr.write(`${JSON.stringify(err.body, null, 2)}\n`);
      } else {
        process.stderr.write(`hooklog: ${(err as Error).message}\n`);
      }
      process.exitCode = 1;
    }
  };
}

/** Option parsers that fail with a message naming the flag. */
export function integer(flag: string, min: number) {
  return (raw: string): number => {
    const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`${flag} must be a whole number >= ${min}`);
    return value;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
