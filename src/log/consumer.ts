import { fail } from '../domain/errors.js';
import { type Log, type Message, OFFSET_END, OFFSET_START } from '../domain/types.js';
import type { LogStore, MessageStore, ReadOptions } from '../store/store.js';
import type { LongPolls } from './long-polls.js';
import type { LogNotifier } from './notifier.js';

export interface ConsumeRequest {
  logId: string;
  /** An offset, or OFFSET_END (-1) / OFFSET_START (-2). */
  from: number;
  limit: number;
  /** Stop reading once the messages' key, value and header bytes pass this; the first message is read whatever its size. */
  maxBytes: number;
  /** How long to wait for messages when there are none yet, in milliseconds. */
  pollMs: number;
  /** Aborts the wait when the client goes away. */
  signal: AbortSignal;
  /** Read key and value as bytes, or as text already decoded from UTF-8. */
  as: 'bytes' | 'text';
  /** Include the HTTP headers stored with messages that came in through ingress. */
  headers?: boolean;
  /** Whose long-poll it is, for the bound per token: the token id, `admin` for the configured admin token. */
  token: string;
}

export interface ConsumeResult {
  messages: Message<Buffer | string>[];
  /** Where the next consume should start. */
  nextOffset: number;
  /** The messages arrived while the request waited, after it was authorized. */
  waited: boolean;
}

/** Reads messages from logs: ranges with long-polling, single messages by offset or key. */
export class Consumer {
  constructor(
    private readonly logs: Pick<LogStore, 'get'>,
    private readonly messages: Pick<MessageStore, 'read' | 'readText' | 'getByKey'>,
    private readonly notifier: LogNotifier,
    private readonly longPolls: LongPolls,
  ) {}

  async consume({ logId, from, limit, maxBytes, pollMs, signal, as, headers, token }: ConsumeRequest): Promise<ConsumeResult> {
    const log = await this.requireLog(logId);
    const start = from === OFFSET_END ? log.nextOffset : from === OFFSET_START ? 0 : from;
    const options = { headers, maxBytes };
    const bytes = () => this.messages.read(logId, start, limit, options);
    const read: Read = as === 'text' ? () => this.readText(logId, start, limit, options, bytes) : bytes;
    let messages = await read();
    const waited = messages.length === 0 && pollMs > 0;
    if (waited) messages = await this.longPolls.wait(token, () => this.waitFor(logId, read, pollMs, signal));

    const last = messages.at(-1);
    // With nothing to return, a start below the log's end means everything from
    // there was deleted by retention: continue where new messages will arrive.
    const nextOffset = last ? last.offset + 1 : Math.max(start, log.nextOffset);
    return { messages, nextOffset, waited };
  }

  /**
   * Messages decoded as text, or as bytes when decoding may have changed
   * them: invalid UTF-8 reads back as U+FFFD, so a page holding one is read
   * again as bytes, for the caller to answer in base64 if they are not text.
   */
  private async readText(logId: string, start: number, limit: number, options: ReadOptions, bytes: Read): Promise<Message<Buffer | string>[]> {
    const messages = await this.messages.readText(logId, start, limit, options);
    const replaced = (text: string | null) => text?.includes('\uFFFD') === true;
    return messages.some((message) => replaced(message.key) || replaced(message.value)) ? bytes() : messages;
  }

  /** The message at `offset`, or the next one still available; -1 is the newest message, -2 the oldest. */
  async getByOffset(logId: string, offset: number): Promise<Message> {
    const log = await this.requireLog(logId);
    const start = offset === OFFSET_END ? log.nextOffset - 1 : offset === OFFSET_START ? 0 : offset;
    const [message] = start < 0 ? [] : await this.messages.read(logId, start, 1);
    return message ?? fail('message_not_found', `no message at or after offset ${offset} in log '${logId}'`);
  }

  async getByKey(logId: string, key: Buffer | null): Promise<Message> {
    await this.requireLog(logId);
    const message = await this.messages.getByKey(logId, key);
    return message ?? fail('message_not_found', `no message with ${key === null ? 'a nil key' : 'that key'} in log '${logId}'`);
  }

  private async requireLog(logId: string): Promise<Log> {
    return (await this.logs.get(logId)) ?? fail('log_not_found', `log '${logId}' does not exist`);
  }

  private async waitFor(logId: string, read: Read, pollMs: number, signal: AbortSignal): Promise<Message<Buffer | string>[]> {
    const deadline = Date.now() + pollMs;
    for (let remaining = pollMs; remaining > 0 && !signal.aborted && !this.notifier.isClosed; remaining = deadline - Date.now()) {
      const cancel = new AbortController();
      // Subscribe before reading again, so a publish between the two is not missed.
      const woken = this.notifier.subscribe(logId, remaining, AbortSignal.any([signal, cancel.signal]));
      const messages = await read();
      if (messages.length > 0) {
        cancel.abort();
        return messages;
      }
      await woken;
    }
    return read();
  }
}

type Read = () => Promise<Message<Buffer | string>[]>;
