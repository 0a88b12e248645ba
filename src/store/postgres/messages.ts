import type pg from 'pg';
import type { EventRecord, Message, MessageAttributes, MessageHeaders } from '../../domain/types.js';
import { attributesJson, describedMessage, messageBytes } from '../rows.js';
import type { AppendClaim, AppendOutcome, AppendRequest, MessageStore, ReadOptions } from '../store.js';
import { BinaryRows } from './copy.js';
import type { Db } from './db.js';
import type { Changes } from './watch.js';

/** Attributes are always read: NULL for most messages, so they cost nothing. */
type Row = [offset: number, time: number, key: Buffer | null, value: Buffer | null, attributes: string | null, headers?: string | null];

function toMessage(row: Row): Message {
  const message: Message = { offset: row[0], time: row[1], key: row[2], value: row[3] };
  if (row[4] !== null) message.attributes = JSON.parse(row[4]) as MessageAttributes;
  if (row[5]) message.headers = JSON.parse(row[5]) as MessageHeaders;
  return message;
}

/** A message's bytes as reads count them against their limit: key, value, headers and attributes (see messageBytes). */
const READ_BYTES =
  'coalesce(octet_length(key), 0) + coalesce(octet_length(value), 0) + coalesce(octet_length(headers), 0) + coalesce(octet_length(attributes), 0)';

const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

interface Head {
  seq: number;
  next: number;
  bytes: number;
  maxTime: number;
  /** The largest message appended in this transaction. */
  maxBytes: number;
}

/**
 * Serialises the appends that claim the same keys: one transaction checks a
 * request's claims and then stamps them all, and no other can claim one of
 * them in between, which the check alone would not see. Locked at once for
 * the group, in one order, so two groups never deadlock.
 */
const LOCK_CLAIMS_SQL = `
SELECT pg_advisory_xact_lock(h) FROM (
  SELECT DISTINCT hashtextextended(key, hashtext(scope)) AS h FROM unnest($1::text[], $2::text[]) AS c(scope, key) ORDER BY h) keys`;

/** The claims of a whole group that are held (claimed within their window), by their place in the arrays, with the offset each stands for. */
const HELD_SQL = `
SELECT c.i - 1 AS i, k.msg_offset FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS c(scope, key, since, i)
JOIN idempotency_keys k ON k.scope = c.scope AND k.key = c.key WHERE k.created_at >= c.since`;

/** Stamps the claims of the requests that landed with the offsets they now stand for; a key given twice by one request is stamped once. */
const STAMP_SQL = `
INSERT INTO idempotency_keys (scope, key, created_at, msg_offset)
SELECT DISTINCT ON (scope, key) scope, key, created_at, msg_offset
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS c(scope, key, created_at, msg_offset)
ORDER BY scope, key
ON CONFLICT (scope, key) DO UPDATE SET created_at = excluded.created_at, msg_offset = excluded.msg_offset`;

/** Records of accepted requests, written with their messages: a refused request never takes this path (see EventStore.quarantine). */
async function insertAccepted(q: pg.PoolClient, events: Array<{ record: EventRecord; offset: number }>, queuedAt: number): Promise<void> {
  const column = <T>(pick: (event: { record: EventRecord; offset: number }) => T) => events.map(pick);
  await q.query({
    name: 'append-events',
    text: `INSERT INTO events (id, source_id, log_id, msg_offset, received_at, validated_at, queued_at, size, hash)
           SELECT id, source_id, log_id, msg_offset, received_at, validated_at, $7, size, hash
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $8::bigint[], $9::text[])
             AS e(id, source_id, log_id, msg_offset, received_at, validated_at, size, hash)`,
    values: [
      column((e) => e.record.id),
      column((e) => e.record.sourceId),
      column((e) => e.record.logId),
      column((e) => e.offset),
      column((e) => e.record.receivedAt),
      column((e) => e.record.validatedAt),
      queuedAt,
      column((e) => e.record.size),
      column((e) => e.record.hash),
    ],
  });
}

/** A claim's identity, for telling claims of the same group apart. */
const claimKey = (claim: AppendClaim) => `${claim.scope}\u0000${claim.key}`;

/**
 * The claims a group holds already, read in one statement (the group's
 * advisory locks keep them from changing until its commit): each request
 * then finds in memory whether it is a duplicate, of a stored key or of a
 * request before it in the same group.
 */
async function heldClaims(q: pg.PoolClient, claims: AppendClaim[]): Promise<Map<string, number | null>> {
  const { rows } = await q.query<{ i: number; msg_offset: number | null }>({
    name: 'append-held-claims',
    text: HELD_SQL,
    values: [claims.map((c) => c.scope), claims.map((c) => c.key), claims.map((c) => c.since)],
  });
  return new Map(rows.map((row) => [claimKey(claims[row.i]!), row.msg_offset]));
}

/**
 * Messages. An append is one transaction for a whole group of publish
 * requests: it locks the rows of the logs it appends to (in seq order, so two
 * groups never deadlock), which is what makes each log's offsets gap-free and
 * strictly increasing when several nodes publish at once. All rows go in with
 * one binary COPY.
 */
export function postgresMessages(db: Db, changes: Changes): MessageStore {
  async function appendAll(q: pg.PoolClient, onCommit: (after: () => void) => void, requests: AppendRequest[], nowMicros: number): Promise<AppendOutcome[]> {
    const ids = [...new Set(requests.map((r) => r.logId))];
    const locked = await q.query<{ id: string; seq: number; next_offset: number; max_time: number }>({
      name: 'append-lock',
      text: 'SELECT id, seq, next_offset, max_time FROM logs WHERE id = ANY($1::text[]) ORDER BY seq FOR UPDATE',
      values: [ids],
    });
    const heads = new Map<string, Head>(
      locked.rows.map((row) => [row.id, { seq: row.seq, next: row.next_offset, bytes: 0, maxTime: row.max_time, maxBytes: 0 }]),
    );
    const allClaims = requests.flatMap((r) => (heads.has(r.logId) && r.claims) || []);
    let held = new Map<string, number | null>();
    if (allClaims.length > 0) {
      await q.query({ name: 'append-lock-claims', text: LOCK_CLAIMS_SQL, values: [allClaims.map((c) => c.scope), allClaims.map((c) => c.key)] });
      held = await heldClaims(q, allClaims);
    }
    const stamped: Array<{ claim: AppendClaim; offset: number | null }> = [];
    const rows = new BinaryRows();
    const outcomes: AppendOutcome[] = [];
    const grownIds = new Set<string>();
    const events: Array<{ record: EventRecord; offset: number }> = [];
    for (const { logId, messages, claims, event } of requests) {
      const log = heads.get(logId);
      if (!log) {
        outcomes.push({ logMissing: true });
        continue;
      }
      if (claims && claims.length > 0) {
        const taken = claims.findIndex((claim) => held.has(claimKey(claim)));
        if (taken >= 0) {
          outcomes.push({ duplicate: true, claim: taken, offset: held.get(claimKey(claims[taken]!)) ?? null });
          continue;
        }
        // Later requests of this group with one of these keys are its duplicates.
        const offset = messages.length > 0 ? log.next : null;
        for (const claim of claims) {
          held.set(claimKey(claim), offset);
          stamped.push({ claim, offset });
        }
      }
      if (event) events.push({ record: event, offset: log.next });
      for (const message of messages) {
        const headers = message.headers ? JSON.stringify(message.headers) : null;
        const attributes = message.attributes ? attributesJson(message.attributes) : null;
        const time = message.time ?? nowMicros;
        rows.add([log.seq, log.next++, time, message.key, message.value, headers, attributes, time < log.maxTime ? true : null]);
        log.bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
        log.maxBytes = Math.max(log.maxBytes, messageBytes(message.key, message.value, headers, attributes));
        log.maxTime = Math.max(log.maxTime, time);
        grownIds.add(logId);
      }
      outcomes.push({ nextOffset: log.next });
    }
    if (stamped.length > 0) {
      await q.query({
        name: 'append-stamp-claims',
        text: STAMP_SQL,
        values: [
          stamped.map(({ claim }) => claim.scope),
          stamped.map(({ claim }) => claim.key),
          stamped.map(({ claim }) => claim.now),
          stamped.map(({ offset }) => offset),
        ],
      });
    }
    if (grownIds.size === 0) return outcomes;
    await rows.copyInto(q, 'messages', ['log_seq', 'msg_offset', 'time', 'key', 'value', 'headers', 'attributes', 'late']);
    if (events.length > 0) await insertAccepted(q, events, Math.floor(nowMicros / 1000));
    const grown = [...grownIds].map((id) => [id, heads.get(id)!] as const);
    await q.query({
      name: 'append-advance',
      text: `UPDATE logs SET next_offset = v.next, size_bytes = size_bytes + v.bytes, max_time = v.max_time,
               max_message_bytes = greatest(max_message_bytes, v.max_bytes)
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(seq, next, bytes, max_time, max_bytes)
             WHERE logs.seq = v.seq`,
      values: [
        grown.map(([, h]) => h.seq),
        grown.map(([, h]) => h.next),
        grown.map(([, h]) => h.bytes),
        grown.map(([, h]) => h.maxTime),
        grown.map(([, h]) => h.maxBytes),
      ],
    });
    await changes.announce(
      q,
      onCommit,
      'log_grown',
      grown.map(([id]) => id),
    );
    return outcomes;
  }

  // A page is read in one of two ways, chosen once per query by the log's
  // largest message (each branch's condition runs once; the other branch is
  // never executed). When a full page of the largest message fits the byte
  // limit ($4, NULL for none), rows are read as they are. Otherwise the
  // running total of each row's size stops the page at the limit, the first
  // row always included; rows past it are filtered before they are sent, so
  // their large values are never read out of TOAST storage. Read backward,
  // the page is the offsets below $2, newest first.
  const range = (withHeaders: boolean, backward: boolean) => {
    const columns = `msg_offset, time, key, value, attributes${withHeaders ? ', headers' : ''}`;
    const fits = '(SELECT $4::bigint IS NULL OR $3 * max_message_bytes <= $4 FROM logs WHERE id = $1)';
    const rows = `FROM messages WHERE log_seq = (SELECT seq FROM logs WHERE id = $1) AND msg_offset ${backward ? '<' : '>='} $2`;
    const order = backward ? 'ORDER BY msg_offset DESC' : 'ORDER BY msg_offset';
    return `SELECT ${columns} FROM (
              (SELECT ${columns} ${rows} AND ${fits} ${order} LIMIT $3)
              UNION ALL
              (SELECT ${columns} FROM (
                 SELECT ${columns}, row_number() OVER w AS n, sum(${READ_BYTES}) OVER w AS running ${rows} AND NOT ${fits}
                 WINDOW w AS (${order} ROWS UNBOUNDED PRECEDING)
                 ${order} LIMIT $3) counted
               WHERE n = 1 OR running <= $4)) page
            ${order}`;
  };

  async function read(logId: string, from: number, limit: number, options?: ReadOptions, backward = false): Promise<Message[]> {
    const withHeaders = options?.headers === true;
    const values = [logId, from, limit, options?.maxBytes ?? null];
    const name = `read${backward ? '-backward' : ''}${withHeaders ? '-headers' : ''}`;
    const rows = await db.arrays<Row>({ name, text: range(withHeaders, backward), values });
    return rows.map(toMessage);
  }

  // PostgreSQL refuses to convert invalid UTF-8, so decoding happens here, as Buffer#toString does.
  const decoded = (messages: Message[]): Message<string>[] => messages.map((m) => ({ ...m, key: text(m.key), value: text(m.value) }));

  const latestNil = `SELECT msg_offset, time, key, value, attributes FROM messages
     WHERE log_seq = (SELECT seq FROM logs WHERE id = $1) AND key IS NULL
     ORDER BY msg_offset DESC LIMIT 1`;
  // The key index is filed by generation (migration 010): each is looked in,
  // newest first, and the first holding the key holds its newest message.
  // The LATERAL probe makes the generations the outer loop, so rows come in
  // their order and LIMIT 1 stops at the first hit; a log with no messages
  // left gives an empty series.
  const latestByKey = `SELECT m.msg_offset, m.time, m.key, m.value, m.attributes
     FROM logs l,
       generate_series((l.next_offset - 1) >> 16, (SELECT coalesce(min(msg_offset), l.next_offset) FROM messages WHERE log_seq = l.seq) >> 16, -1) AS g,
       LATERAL (SELECT * FROM messages WHERE log_seq = l.seq AND (msg_offset >> 16) = g AND key = $2 ORDER BY msg_offset DESC LIMIT 1) m
     WHERE l.id = $1
     LIMIT 1`;

  return {
    async append(requests, nowMicros) {
      return db.tx((q, onCommit) => appendAll(q, onCommit, requests, nowMicros));
    },
    read: (logId, from, limit, options) => read(logId, from, limit, options),
    async readText(logId, from, limit, options) {
      return decoded(await read(logId, from, limit, options));
    },
    async readBackward(logId, below, limit, options) {
      return decoded(await read(logId, below, limit, options, true));
    },
    async claimedOffset(scope, key, since) {
      const [row] = await db.rows<{ msg_offset: number | null }>({
        name: 'claimed-offset',
        text: 'SELECT msg_offset FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at >= $3',
        values: [scope, key, since],
      });
      return row?.msg_offset ?? undefined;
    },
    async describe(logId, offsets) {
      if (offsets.length === 0) return new Map();
      const rows = await db.rows<{ msg_offset: number; headers: string | null; attributes: string | null }>({
        name: 'describe-messages',
        text: `SELECT msg_offset, headers, attributes FROM messages
               WHERE log_seq = (SELECT seq FROM logs WHERE id = $1) AND msg_offset = ANY($2::bigint[])`,
        values: [logId, offsets],
      });
      return new Map(rows.map((row) => [row.msg_offset, describedMessage(row.headers, row.attributes)]));
    },
    expungeValue: (logId, offset) =>
      db.tx(async (q) => {
        // The log's row first, as retention locks it before its messages: size_bytes stays true and the two never deadlock.
        const { rows } = await q.query<{ seq: number }>({ text: 'SELECT seq FROM logs WHERE id = $1 FOR UPDATE', values: [logId] });
        if (!rows[0]) return false;
        const nilled = await q.query({
          text: `WITH old AS (SELECT coalesce(octet_length(value), 0) AS bytes FROM messages WHERE log_seq = $1 AND msg_offset = $2),
                 nilled AS (UPDATE messages SET value = NULL WHERE log_seq = $1 AND msg_offset = $2 RETURNING 1)
                 UPDATE logs SET size_bytes = size_bytes - (SELECT bytes FROM old) WHERE seq = $1 AND EXISTS (SELECT 1 FROM nilled)`,
          values: [rows[0].seq, offset],
        });
        return nilled.rowCount === 1;
      }),
    async getByKey(logId, key) {
      const [row] = await db.arrays<Row>(key === null ? { text: latestNil, values: [logId] } : { text: latestByKey, values: [logId, key] });
      return row && toMessage(row);
    },
  };
}
