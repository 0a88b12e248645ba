import pg from 'pg';
import { HooklogError } from '../../domain/errors.js';

/** What both a pool and a client in a transaction can run. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** The pool's size and time limits. */
export interface PoolLimits {
  size: number;
  /** How long a query waits for a free connection (and a new connection to open); default 5 s. */
  acquireTimeoutMs?: number;
  /** The longest a pooled statement may run before the server cancels it; default none. */
  statementTimeoutMs?: number;
}

/** int8 columns (seqs, offsets, microsecond times) as numbers: all stay below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The connection pool, with the one rule for database errors: failing to
 * reach the server (refused, cut off, restarting, out of connections) becomes
 * `database_unavailable`, and a statement or a wait for a connection that
 * ran out of time `database_busy`: both 503s that tell the client to retry;
 * anything else is a bug and stays a 500. The pool replaces broken
 * connections by itself, so the next request after an outage simply succeeds.
 */
export class Db implements Queryable {
  readonly pool: pg.Pool;

  constructor(url: string, limits: PoolLimits) {
    this.pool = new pg.Pool({
      ...Db.clientConfig(url),
      max: limits.size,
      // pg-pool waits this long for a free connection, and as long for a new one to connect.
      connectionTimeoutMillis: limits.acquireTimeoutMs,
      // Set by the server on each pooled session, so that a statement stuck behind a lock
      // ends with an error instead of holding its request and its connection. Migrations
      // and the listening connection open their own sessions and are not bounded.
      ...(limits.statementTimeoutMs !== undefined && { statement_timeout: limits.statementTimeoutMs }),
    });
    // An idle connection that dies (the server restarts) must not crash the process; the pool drops it.
    this.pool.on('error', () => {});
  }

  /** TCP keep-alive notices a server that vanished without closing (a host down) on connections that sit idle, such as the listener's. */
  static clientConfig(url: string): pg.ClientConfig {
    return { connectionString: url, connectionTimeoutMillis: 5_000, keepAlive: true, types };
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(config);
    } catch (err) {
      throw asUnavailable(err);
    }
  }

  async rows<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<R[]> {
    return (await this.query<R>(config)).rows;
  }

  /** Rows as arrays rather than objects: cheaper for long reads. */
  async arrays<R extends unknown[]>(config: pg.QueryConfig): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ ...config, rowMode: 'array' })).rows;
    } catch (err) {
      throw asUnavailable(err);
    }
  }

  /**
   * Runs `work` in one transaction on one connection; rolls back if it throws.
   * What `work` passes to `onCommit` runs once the commit succeeded.
   */
  async tx<T>(work: (client: pg.PoolClient, onCommit: (after: () => void) => void) => Promise<T>): Promise<T> {
    const committed: Array<() => void> = [];
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asUnavailable(err);
    }
    let broken: Error | undefined;
    // The pool listens for errors only on idle clients. A checked-out client
    // whose connection drops (the server stops mid-transaction) emits
    // 'error', which with no listener would end the process; the failed
    // query rejects as well, and that is what this transaction acts on.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client, (after) => committed.push(after));
      await client.query('COMMIT');
      for (const after of committed) after();
      return result;
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => {});
      throw asUnavailable(err);
    } finally {
      client.removeListener('error', onError);
      // A connection that failed mid-transaction is discarded rather than reused.
      client.release(broken && isConnectionError(broken) ? broken : undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** SQLSTATE classes of a server that cannot serve: connection exceptions, operator intervention (shutdown), insufficient resources. */
const UNAVAILABLE_STATES = /^(08|57P0|53)/;

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return UNAVAILABLE_STATES.test(code) || code.startsWith('E'); // ECONNREFUSED, ECONNRESET, EPIPE…
  return /Connection terminated|Client has encountered a connection error|not queryable/i.test(err.message);
}

/** SQLSTATE query_canceled: hooklog cancels nothing itself, so it is the statement timeout. */
const STATEMENT_TIMEOUT = '57014';
/** pg-pool's message when no connection became free in time (a new connection that cannot open says "connection timeout"). */
const ACQUIRE_TIMEOUT = 'timeout exceeded when trying to connect';

function asUnavailable(err: unknown): unknown {
  if (err instanceof HooklogError || !(err instanceof Error)) return err;
  if ((err as { code?: unknown }).code === STATEMENT_TIMEOUT) {
    return new HooklogError('database_busy', 'a database statement ran out of time (a lock held long, or an overloaded server); retry shortly');
  }
  if (err.message === ACQUIRE_TIMEOUT) return new HooklogError('database_busy', 'no database connection became free in time; retry shortly');
  if (!isConnectionError(err)) return err;
  return new HooklogError('database_unavailable', `the database cannot be reached (${err.message}); retry shortly`);
}
