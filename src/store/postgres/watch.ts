import pg from 'pg';
import type { StoreChange } from '../store.js';
import { Db, type Queryable } from './db.js';

/** Backoff between reconnection attempts of the listening connection. */
const RECONNECT_MS = [100, 250, 500, 1_000, 2_000, 5_000];

/**
 * Announces changes to every node with NOTIFY, sent inside the transaction
 * that makes the change: PostgreSQL delivers it on commit, and never for a
 * rollback. The channel is named after the schema, so that deployments (and
 * tests) in separate schemas of one database do not hear each other.
 */
export class Changes {
  constructor(readonly channel: string) {}

  logGrown(q: Queryable, logIds: string[]): Promise<unknown> {
    return q.query({ name: 'notify-logs', text: "SELECT pg_notify($1, 'l' || id) FROM unnest($2::text[]) AS id", values: [this.channel, logIds] });
  }

  egressChanged(q: Queryable, webhookId: string): Promise<unknown> {
    return q.query({ name: 'notify-egress', text: "SELECT pg_notify($1, 'e' || $2)", values: [this.channel, webhookId] });
  }
}

function parse(payload: string | undefined): StoreChange | undefined {
  if (payload?.startsWith('l')) return { kind: 'log_grown', logId: payload.slice(1) };
  if (payload?.startsWith('e')) return { kind: 'egress_changed', webhookId: payload.slice(1) };
  return undefined;
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
    private readonly channel: string,
    private readonly listener: (change: StoreChange) => void,
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
      const change = parse(message.payload);
      if (change) this.listener(change);
    });
    client.on('error', (err) => {
      this.onError(err);
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    this.attempt = 0;
  }

  private reconnect(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    const delay = RECONNECT_MS[Math.min(this.attempt++, RECONNECT_MS.length - 1)]!;
    this.retry = setTimeout(() => {
      this.connect().then(
        () => this.listener({ kind: 'resync' }),
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
