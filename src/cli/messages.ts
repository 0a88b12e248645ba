import { type Command, InvalidArgumentError } from 'commander';
import { ApiError, action, type ClientOptions, call, collect, integer } from './client.js';

interface PublishOptions {
  key?: string;
  value?: string;
  keyBase64?: string;
  valueBase64?: string;
  time?: number;
  eventType?: string;
  eventId?: string;
  channel?: string[];
  tag?: string[];
}

interface ConsumeOptions {
  offset?: number;
  offsetId?: string;
  size?: number;
  poll?: number;
  encoding?: string;
  follow?: boolean;
  headers?: boolean;
}

interface ConsumeResponse {
  next_offset: number;
  messages: unknown[];
}

/** How long each request of `consume --follow` waits for new messages when --poll is not given. */
const FOLLOW_POLL_MS = 30_000;
/** The longest a follow waits before asking again, whatever Retry-After says. */
const MAX_FOLLOW_BACKOFF_SECONDS = 60;

export function messagesCommands(program: Command): void {
  program
    .command('publish <log_id>')
    .description('publish one message')
    .option('--key <text>', 'key as text')
    .option('--value <text>', 'value as text')
    .option('--key-base64 <b64>', 'key as base64 bytes')
    .option('--value-base64 <b64>', 'value as base64 bytes')
    .option('--time <micros>', 'message time, microseconds since the epoch (default: now)', integer('--time', 0))
    .option('--event-type <type>', "the event's type, such as user.signup, that destinations filter on")
    .option('--event-id <id>', "the event's id")
    .option('--channel <channel>', 'a channel that destinations filter on (repeatable)', collect)
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .action(action((client, logId: string, opts: PublishOptions) => call(client, 'POST', messagePath(logId), { body: publishBody(opts) })));

  program
    .command('consume <log_id>')
    .description('read messages from an offset')
    .option('--offset <n>', 'start offset (-1 end of log, -2 start)', integer('--offset', -2))
    .option('--offset-id <offset_id>', 'start from a stored offset')
    .option('--size <n>', 'how many messages per request', integer('--size', 1))
    .option('--poll <ms>', 'wait this long for new messages', integer('--poll', 0))
    .option('--encoding <encoding>', 'string or base64')
    .option('--follow', 'keep long-polling and print each message as a JSON line')
    .option('--headers', "include each message's stored request headers (ingress webhooks keep them, less secrets and hop-by-hop headers)")
    .action(action((client, logId: string, opts: ConsumeOptions) => (opts.follow ? follow(client, logId, opts) : consume(client, logId, opts))));

  program
    .command('get-by-offset <log_id>')
    .description('get the message at an offset, or the next available one')
    .option('--offset <n>', 'offset (-1 newest, -2 oldest)', integer('--offset', -2))
    .option('--encoding <encoding>', 'string or base64')
    .action(
      action((client, logId: string, opts: { offset?: number; encoding?: string }) =>
        call(client, 'GET', messagePath(logId), { query: { offset: opts.offset, encoding: opts.encoding } }),
      ),
    );

  program
    .command('get-by-key <log_id>')
    .description('get the newest message with a key (no key: a nil key)')
    .option('--key <text>', 'key as text')
    .option('--key-base64 <b64>', 'key as base64 bytes')
    .option('--encoding <encoding>', 'encoding of the answer: string or base64')
    .action(
      action((client, logId: string, opts: { key?: string; keyBase64?: string; encoding?: string }) => {
        if (opts.key !== undefined && opts.keyBase64 !== undefined) throw new InvalidArgumentError('give --key or --key-base64, not both');
        // The server checks the encoding; a base64 key makes the answer base64 too.
        const encoding = opts.keyBase64 !== undefined ? 'base64' : opts.encoding;
        const key = opts.keyBase64 ?? maybeBase64(opts.key, encoding === 'base64');
        return call(client, 'POST', `${messagePath(logId)}/key`, { body: { encoding, key } });
      }),
    );
}

function messagePath(logId: string): string {
  return `message/${encodeURIComponent(logId)}`;
}

/** When any part is base64, the whole message is sent as base64 and text parts are converted. */
function publishBody(opts: PublishOptions) {
  if (opts.key !== undefined && opts.keyBase64 !== undefined) throw new InvalidArgumentError('give --key or --key-base64, not both');
  if (opts.value !== undefined && opts.valueBase64 !== undefined) throw new InvalidArgumentError('give --value or --value-base64, not both');
  const base64 = opts.keyBase64 !== undefined || opts.valueBase64 !== undefined;
  return {
    encoding: base64 ? 'base64' : 'string',
    time: opts.time,
    key: opts.keyBase64 ?? maybeBase64(opts.key, base64),
    value: opts.valueBase64 ?? maybeBase64(opts.value, base64),
    event_type: opts.eventType,
    event_id: opts.eventId,
    channels: opts.channel,
    tags: opts.tag,
  };
}

function maybeBase64(text: string | undefined, base64: boolean): string | undefined {
  return text === undefined || !base64 ? text : Buffer.from(text, 'utf8').toString('base64');
}

function consume(client: ClientOptions, logId: string, opts: ConsumeOptions, offset = opts.offset) {
  return call(client, 'GET', `messages/${encodeURIComponent(logId)}`, {
    query: {
      offset,
      offset_id: offset === undefined ? opts.offsetId : undefined,
      len: opts.size,
      poll: opts.poll,
      encoding: opts.encoding,
      headers: opts.headers,
    },
  }) as Promise<ConsumeResponse>;
}

/**
 * Long-polls forever from the requested start, printing each message as one
 * JSON line. A server that says to come back later (429: its long-poll places
 * are taken; 503: its database is busy or it restarts) is waited out, as its
 * Retry-After asks, rather than ending the follow.
 */
async function follow(client: ClientOptions, logId: string, opts: ConsumeOptions): Promise<undefined> {
  const polling = { ...opts, poll: opts.poll ?? FOLLOW_POLL_MS };
  let offset = opts.offset;
  for (;;) {
    let response: ConsumeResponse;
    try {
      response = await consume(client, logId, polling, offset);
    } catch (err) {
      if (!(err instanceof ApiError) || err.retryAfterSeconds === undefined) throw err;
      const seconds = Math.min(err.retryAfterSeconds, MAX_FOLLOW_BACKOFF_SECONDS);
      process.stderr.write(`hooklog: the server answered ${err.status} (${errorCode(err.body)}); trying again in ${seconds} s\n`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      continue;
    }
    for (const message of response.messages) process.stdout.write(`${JSON.stringify(message)}\n`);
    offset = response.next_offset;
  }
}

/** The error code of an API error's body, for a one-line notice. */
function errorCode(body: unknown): string {
  return (body as { error?: string } | null)?.error ?? 'no code';
}
