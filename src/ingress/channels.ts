import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { demand, type Principal } from '../auth/principal.js';
import { CHANNEL_NAME_RULE, isChannelName } from '../domain/channels.js';
import { fail, HooklogError } from '../domain/errors.js';
import { randomBase62 } from '../domain/ids.js';
import type { Channel, Message } from '../domain/types.js';
import type { Logs } from '../log/logs.js';
import type { ChannelStore, MessageStore } from '../store/store.js';
import type { IngressWebhooks, Received } from './ingress-webhooks.js';

/** Most webhooks one read answers, as Kaiman Webhooks Proxy clients expect of a GET. */
export const MAX_READ = 1000;
/**
 * How long an answer may take to be written to its client. The HTTP adapter
 * cuts the connection after it, so that a reader that stops reading cannot
 * hold its channel; the webhooks then stay unread.
 */
export const ANSWER_MS = 30_000;
/** How long a reader holds its channel: longer than its answer may take, so a hold never runs out under a live reader. */
const HOLD_MS = 2 * ANSWER_MS;
/** How long a read waits for the reader before it (on this node or another) to finish; then it answers nothing. */
const WAIT_MS = 10_000;
/** How often a read asks again for a channel held by another node. */
const RETRY_HOLD_MS = 50;
/** Length of a generated reading bearer: 190 random bits. */
const TOKEN_LENGTH = 32;

/** Full rights, for what a channel makes inside its own new log (see create). */
const CHANNEL_ITSELF: Principal = { tokenId: null, rules: null };

export interface ChannelInput {
  name: string;
  /** The header that must carry `secret` on every POST; absent: POSTs are not checked. */
  secretHeader?: string;
  secret?: string;
  /** The reading bearer; absent: one is generated (and shown once). */
  token?: string;
}

/** One read of a channel, still being answered: its webhooks, encoded, and where the cursor goes once they were written. */
export interface Reading {
  items: string[];
  /**
   * Call once the answer was written in full (`written`), or could not be:
   * only then do its webhooks count as read. Later calls do nothing.
   */
  finish(written: boolean): Promise<void>;
}

export interface ReadRequest {
  /** The answer's budget: items stop before passing it, though the first is always given. */
  maxBytes: number;
  /** A message in the client's wire form. */
  encode: (message: Message) => string;
}

/**
 * Kaiman Webhooks Proxy channels: a log fed by an ingress webhook (type
 * secret-header, or none when the channel has no secret header) and drained
 * by a bearer of its own. A read answers the webhooks from the channel's
 * cursor and moves the cursor past them once the answer was written in full,
 * so a client that goes away mid-answer loses nothing. Readers of one channel
 * take turns: in a queue on this node, then by a hold in the store, which
 * also makes readers on different nodes take turns.
 */
export class Channels {
  /** The last reader in line for each channel on this node; a reader waits for the one before it. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ChannelStore,
    private readonly logs: Pick<Logs, 'create' | 'delete'>,
    private readonly ingress: Pick<IngressWebhooks, 'create' | 'get' | 'update' | 'delete' | 'receive' | 'tooLarge'>,
    private readonly messages: Pick<MessageStore, 'read'>,
  ) {}

  /**
   * Creates the channel's log, its ingress webhook, then the channel; what was
   * made is deleted again if a later step fails. The token is returned here
   * only: the store keeps its hash.
   */
  async create(by: Principal, input: ChannelInput, { fromConfig = false } = {}): Promise<{ channel: Channel; token: string }> {
    demand(by, { subject: 'logs', action: 'create' });
    demand(by, { subject: 'ingress_webhooks', action: 'create' });
    checkInput(input);
    if (await this.store.get(input.name)) taken(input.name);
    const token = input.token ?? randomBase62(TOKEN_LENGTH);
    const tokenHash = hashToken(token);
    if (await this.store.byTokenHash(tokenHash)) fail('channel_exists', 'another channel has this token; choose another');
    // The log and source carry the channel's name, which the events API shows as the source's.
    const log = await this.logs.create({ metadata: input.name });
    try {
      // The webhook appends to the channel's own new log alone: the rights to create both are all it needs.
      const source = await this.ingress.create(CHANNEL_ITSELF, { logId: log.id, metadata: input.name, ...sourceSettings(input) });
      const channel: Channel = { name: input.name, logId: log.id, sourceId: source.id, cursor: 0, fromConfig, createdAt: Date.now() };
      // Another create, here or on another node, took the name or the token since the checks above.
      if (!(await this.store.create(channel, tokenHash))) fail('channel_exists', `a channel named '${input.name}', or one with this token, exists`);
      return { channel, token };
    } catch (err) {
      // Deleting the log deletes its webhook too.
      await this.logs.delete(log.id).catch(() => undefined);
      throw err;
    }
  }

  async get(by: Principal, name: string): Promise<Channel> {
    const channel = await this.find(name);
    demand(by, { subject: 'logs', action: 'get', objectId: channel.logId });
    return channel;
  }

  list(by: Principal): Promise<Channel[]> {
    demand(by, { subject: 'logs', action: 'list' });
    return this.store.list();
  }

  /** Deletes the channel's log, which takes its ingress webhook, its messages and the channel with it. */
  async delete(by: Principal, name: string): Promise<Channel> {
    const channel = await this.find(name);
    demand(by, { subject: 'logs', action: 'delete', objectId: channel.logId });
    demand(by, { subject: 'ingress_webhooks', action: 'delete', objectId: channel.sourceId });
    try {
      await this.logs.delete(channel.logId);
    } catch (err) {
      if (err instanceof HooklogError && err.errorName === 'log_not_found') notFound(name);
      throw err;
    }
    return channel;
  }

  /**
   * Makes the store hold the channels the config declares: each is created
   * when missing, and its secret header, secret and token are set as
   * declared. Channels the config no longer declares are kept, with what
   * they hold; their names are returned, to be deleted by hand if unwanted.
   */
  async sync(declared: readonly ChannelInput[]): Promise<string[]> {
    for (const input of declared) {
      await this.declare(input).catch((err: unknown) => {
        throw err instanceof HooklogError ? new HooklogError(err.errorName, `channel '${input.name}': ${err.details}`) : err;
      });
    }
    const names = new Set(declared.map((input) => input.name));
    return (await this.store.list()).filter((channel) => channel.fromConfig && !names.has(channel.name)).map((channel) => channel.name);
  }

  /** Creates a declared channel, or brings the one stored in line with it. */
  private async declare(input: ChannelInput): Promise<void> {
    if (!(await this.store.get(input.name))) {
      try {
        await this.create(CHANNEL_ITSELF, input, { fromConfig: true });
        return;
      } catch (err) {
        // Another node starting with the same config made it first: it is brought in line below.
        if (!(err instanceof HooklogError && err.errorName === 'channel_exists' && (await this.store.get(input.name)))) throw err;
      }
    }
    await this.align((await this.store.get(input.name)) ?? notFound(input.name), input);
  }

  /** A POST to the channel: its ingress webhook checks the secret header, then appends the exact body. */
  async receive(name: string, body: Buffer, headers: IncomingHttpHeaders): Promise<Received> {
    const channel = await this.find(name);
    try {
      return await this.ingress.receive(channel.sourceId, body, headers);
    } catch (err) {
      // Deleted between the two reads.
      if (err instanceof HooklogError && err.errorName === 'ingress_webhook_not_found') notFound(name);
      throw err;
    }
  }

  /** A POST refused for its size before it was read: counted on the channel's ingress webhook. */
  async tooLarge(name: string): Promise<void> {
    const channel = isChannelName(name) ? await this.store.get(name) : undefined;
    if (channel) await this.ingress.tooLarge(channel.sourceId);
  }

  /**
   * Who may read channel `name`: the bearer of its token. A missing or unknown
   * token is a 401, another channel's a 403 (or a 404 when no channel has
   * that name). Only hashes are compared: the store is asked for the token's
   * hash, so the time taken tells nothing of the token.
   */
  async authorize(name: string, bearer: string | undefined): Promise<Channel> {
    if (!bearer) fail('channel_token_invalid', 'send the channel’s token as Authorization: Bearer <token>');
    const holder = await this.store.byTokenHash(hashToken(bearer));
    if (!holder) fail('channel_token_invalid', 'the token is not the token of a channel');
    if (holder.name === name) return holder;
    await this.find(name);
    fail('channel_token_other', `the token belongs to another channel than '${name}'`);
  }

  /**
   * Takes the channel's unread webhooks, oldest first: at most MAX_READ, and
   * no more than `maxBytes` once encoded. The channel stays held by this read
   * until `finish`; a read that cannot have it within WAIT_MS answers nothing,
   * as the readers before it took what there was.
   */
  async read(channel: Channel, { maxBytes, encode }: ReadRequest): Promise<Reading> {
    const deadline = Date.now() + WAIT_MS;
    const leave = await this.queue(channel.name, deadline);
    if (!leave) return { items: [], finish: async () => undefined };
    const reader = randomBase62(16);
    let cursor: number | undefined;
    try {
      cursor = await this.hold(channel.name, reader, deadline);
      if (cursor === undefined) {
        leave();
        return { items: [], finish: async () => undefined };
      }
      const messages = await this.messages.read(channel.logId, cursor, MAX_READ, { headers: true, maxBytes });
      const items: string[] = [];
      let bytes = 2;
      for (const message of messages) {
        const item = encode(message);
        bytes += Buffer.byteLength(item) + 1;
        if (items.length > 0 && bytes > maxBytes) break;
        items.push(item);
      }
      const next = items.length > 0 ? messages[items.length - 1]!.offset + 1 : null;
      let finished = false;
      const finish = async (written: boolean) => {
        if (finished) return;
        finished = true;
        clearTimeout(expiry);
        try {
          await this.store.release(channel.name, reader, written ? next : null);
        } finally {
          leave();
        }
      };
      // However the answer ends, the channel is let go before its hold runs out.
      const expiry = setTimeout(() => void finish(false).catch(() => undefined), HOLD_MS);
      expiry.unref();
      return { items, finish };
    } catch (err) {
      if (cursor !== undefined) await this.store.release(channel.name, reader, null).catch(() => undefined);
      leave();
      throw err;
    }
  }

  /** Waits for this node's earlier readers of the channel until `deadline`; returns how to let the next one go, or null when the wait ran out. */
  private async queue(name: string, deadline: number): Promise<(() => void) | null> {
    const before = this.queues.get(name) ?? Promise.resolve();
    let leave!: () => void;
    const done = new Promise<void>((resolve) => {
      leave = resolve;
    });
    // The next reader waits for this one, which waits for those before it: a reader that gives up keeps its place.
    const last = before.then(() => done);
    this.queues.set(name, last);
    void last.then(() => {
      if (this.queues.get(name) === last) this.queues.delete(name);
    });
    let timer: NodeJS.Timeout | undefined;
    const turn = await Promise.race([
      before.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadline - Date.now());
      }),
    ]);
    clearTimeout(timer);
    if (!turn) {
      leave();
      return null;
    }
    return leave;
  }

  /** Holds the channel in the store, asking again while a reader on another node holds it, until `deadline`. */
  private async hold(name: string, reader: string, deadline: number): Promise<number | undefined> {
    for (;;) {
      const now = Date.now();
      const cursor = await this.store.hold(name, reader, now, now + HOLD_MS);
      if (cursor !== undefined || now + RETRY_HOLD_MS > deadline) return cursor;
      await new Promise((resolve) => setTimeout(resolve, RETRY_HOLD_MS));
    }
  }

  /** Brings a channel's token and ingress webhook in line with the config. */
  private async align(channel: Channel, input: ChannelInput): Promise<void> {
    checkInput(input);
    if (input.token !== undefined) {
      const tokenHash = hashToken(input.token);
      const holder = await this.store.byTokenHash(tokenHash);
      if (holder && holder.name !== channel.name) fail('channel_exists', `channel '${holder.name}' has the token of channel '${channel.name}'`);
      if (!holder) await this.store.setTokenHash(channel.name, tokenHash);
    }
    const wanted = sourceSettings(input);
    // Its webhook may have been deleted through the native API: the channel then gets a new one.
    const source = await this.ingress.get(channel.sourceId).catch((err: unknown) => {
      if (err instanceof HooklogError && err.errorName === 'ingress_webhook_not_found') return undefined;
      throw err;
    });
    if (source?.type === wanted.type) {
      if (source.header !== (wanted.header ?? '') || source.secret !== (wanted.secret ?? '')) {
        await this.ingress.update(CHANNEL_ITSELF, source.id, { header: wanted.header, secret: wanted.secret });
      }
      return;
    }
    // The type of a webhook never changes: the channel moves to a new one.
    const replacement = await this.ingress.create(CHANNEL_ITSELF, { logId: channel.logId, metadata: channel.name, ...wanted });
    await this.store.setSource(channel.name, replacement.id);
    if (source) await this.ingress.delete(source.id);
  }

  private async find(name: string): Promise<Channel> {
    // Anyone can call a channel's URL: text that is no channel name never reaches the store.
    return (isChannelName(name) ? await this.store.get(name) : undefined) ?? notFound(name);
  }
}

/** The token as the store keeps it. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

function checkInput({ name, secretHeader, secret, token }: ChannelInput): void {
  if (!isChannelName(name)) fail('field_invalid', `name must be ${CHANNEL_NAME_RULE}, got ${JSON.stringify(name)}`);
  if ((secretHeader === undefined || secretHeader === '') !== (secret === undefined || secret === '')) {
    fail('field_invalid', 'secret_header and secret go together: give both, or neither for a channel whose POSTs are not checked');
  }
  if (token !== undefined && token === '') fail('field_invalid', 'token must not be empty; leave it out to have one generated');
}

function sourceSettings({ secretHeader, secret }: ChannelInput): { type: 'secret-header' | 'none'; header?: string; secret?: string } {
  return secretHeader ? { type: 'secret-header', header: secretHeader, secret } : { type: 'none' };
}

function taken(name: string): never {
  fail('channel_exists', `a channel named '${name}' exists`);
}

function notFound(name: string): never {
  fail('channel_not_found', `channel '${name}' does not exist`);
}
