import { type Command, InvalidArgumentError } from 'commander';

/** Where the CLI sends requests: --url/--token, else HOOKLOG_URL/HOOKLOG_TOKEN. */
export interface ClientOptions {
  url: string;
  token?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export type QueryValues = Record<string, string | number | boolean | undefined>;

/** One API call. Resolves with the parsed JSON body of a 2xx, rejects with ApiError otherwise. */
export async function call(options: ClientOptions, method: string, path: string, input: { query?: QueryValues; body?: unknown } = {}): Promise<unknown> {
  const url = new URL(path, options.url.endsWith('/') ? options.url : `${options.url}/`);
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
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** The client options of the root program, which every command inherits. */
function clientOptions(command: Command): ClientOptions {
  const { url, token } = command.optsWithGlobals<{ url: string; token?: string }>();
  return { url, token };
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs an action that returns JSON to print; an API error is printed and exits 1. */
export function action<A extends unknown[]>(run: (options: ClientOptions, ...args: A) => Promise<unknown>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    try {
      const result = await run(clientOptions(command), ...(args.slice(0, -1) as A));
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
