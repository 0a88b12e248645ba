import pg from 'pg';
import { randomBase62 } from '../../domain/ids.js';
import type { ChangeFeed } from '../change-feed.js';
import type { StoreChange } from '../store.js';
import { Db, type Queryable } from './db.js';

/** Backoff between reconnection attempts of the listening connection. */
const RECONNECT_MS = [100, 250, 500, 1_000, 2_000, 5_000];

/** What a change's NOTIFY payload starts with, after the origin. */
const KINDS = { log_grown: 'l', egress_changed: 'e', ingress_changed: 'i' } as const;
type Announced = Exclude<StoreChange, { kind: 'resync' }>;

/**
 * Announces a change twice: to this node's feed once the transaction that
 * makes it commits, and to every other node with NOTIFY, sent inside that
 * transaction, which PostgreSQL delivers on commit and never for a rollback.
 * A payload names its origin, so that a node skips its own, which it has
 * heard already. The channel is named after the schema, so that deployments
 * (and tests) in separate schemas of one database do not hear each other.
 */
export class Changes {
  /** This store's mark on what it announces. */
  readonly origin = randomBase62(8);

  constructor(
    readonly channel: string,
    readonly feed: ChangeFeed,
  ) {}

  /** Announces `changes`, all of one kind, in the transaction of `q`; `onCommit` is that transaction's. */
  async announce(q: Queryable, onCommit: (after: () => void) => void, kind: Announced['kind'], ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await q.query({
      name: 'notify',
      text: 'SELECT pg_notify($1, $2 || id) FROM unnest($3::text[]) AS id',
      values: [this.channel, `${this.origin} ${KINDS[kind]}`, ids],
    });
    onCommit(() => {
      for (const id of ids) this.feed.emit(changeOf(kind, id));
    });
  }

  /** The change a payload announces, or undefined for this store's own and for unknown ones. */
  parse(payload: string | undefined): StoreChange | undefined {
    const [origin, rest] = (payload ?? '').split(' ', 2);
    if (origin === this.origin || !rest) return undefined;
    const kind = (Object.keys(KINDS) as Array<Announced['kind']>).find((name) => KINDS[name] === rest[0]);
    return kind && changeOf(kind, rest.slice(1));
  }
}

function changeOf(kind: Announced['kind'], id: string): StoreChange {
  return kind === 'log_grown' ? { kind, logId: id } : { kind, webhookId: id };
}

/**
 * Listens on the change channel over a connection of its own, and keeps
 * listening: when the connection drops it reconnects with backoff, and then
 * reports `resync`, since changes made in between were not heard.
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly changes: Changes,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Connects and listens; rejects, and stops trying, if the first connection fails. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(Db.clientConfig(this.url));
    client.on('notification', (message) => {
      const change = this.changes.parse(message.payload);
      if (change) this.changes.feed.emit(change);
    });
    client.on('error', (err) => {
      this.onError(err);
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${client.escapeIdentifier(this.changes.channel)}`);
    this.attempt = 0;
  }

  private reconnect(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    const delay = RECONNECT_MS[Math.min(this.attempt++, RECONNECT_MS.length - 1)]!;
    this.retry = setTimeout(() => {
      this.connect().then(
        () => this.changes.feed.emit({ kind: 'resync' }),
        (err: unknown) => {
          this.onError(err);
          if (this.client) this.reconnect(this.client);
        },
      );
    }, delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.client?.end().catch(() => {});
  }
}
