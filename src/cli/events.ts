import type { Command } from 'commander';
import { action, call, collect, integer } from './client.js';

interface EventSummary {
  id: string;
  source: { id: string; name: string | null };
  status: string;
  signatureValid: boolean;
  deliveriesCount: number;
  deliveriesSucceeded: number;
  deliveriesFailed: number;
  payloadSize: number;
  receivedAt: string;
}

interface Delivery {
  destinationId: string;
  destinationName: string | null;
  status: string;
  attemptCount: number;
  statusCode: number | null;
  error: string | null;
}

/** Rows as aligned columns, the first row the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A human table on a terminal, JSON for a pipe, a file or `--json`: what a script reads stays stable. */
const forHumans = (opts: { json?: boolean }) => process.stdout.isTTY === true && opts.json !== true;

function eventTable(events: EventSummary[]): string {
  const header = ['ID', 'SOURCE', 'STATUS', 'DELIVERED', 'FAILED', 'BYTES', 'RECEIVED'];
  const rows = events.map((event) => [
    event.id,
    event.source.name || event.source.id,
    event.status,
    `${event.deliveriesSucceeded}/${event.deliveriesCount}`,
    String(event.deliveriesFailed),
    String(event.payloadSize),
    event.receivedAt,
  ]);
  return table([header, ...rows]);
}

function deliveryTable(deliveries: Delivery[]): string {
  const rows = deliveries.map((d) => [d.destinationId, d.destinationName ?? '', d.status, String(d.attemptCount), String(d.statusCode ?? '-'), d.error ?? '']);
  return table([['DESTINATION', 'NAME', 'STATUS', 'ATTEMPTS', 'CODE', 'ERROR'], ...rows]);
}

export function eventsCommand(program: Command): void {
  const events = program
    .command('events')
    .description('what arrived through the ingress webhooks: inspect and replay (a table on a terminal, JSON when piped)');

  events
    .command('list')
    .description('events, newest first')
    .option('--page <n>', 'page number', integer('--page', 1))
    .option('--page-size <n>', 'events per page, 1 to 100 (20 by default)', integer('--page-size', 1))
    .option('--source <webhook_id>', 'only events of this ingress webhook')
    .option('--status <status>', 'pending, delivered, partial, failed or rejected')
    .option('--from <time>', 'received at or after (ISO 8601)')
    .option('--to <time>', 'received at or before (ISO 8601)')
    .option('--search <text>', 'a substring of the payload')
    .option('--signature-valid <true|false>', 'true: accepted only; false: refused for their signature only')
    .option('--json', 'JSON even on a terminal')
    .action(
      action(async (client, opts: Record<string, string | number | undefined> & { json?: boolean }) => {
        const query = {
          page: opts.page,
          pageSize: opts.pageSize,
          sourceId: opts.source,
          status: opts.status,
          from: opts.from,
          to: opts.to,
          search: opts.search,
          signatureValid: opts.signatureValid,
        };
        const page = (await call(client, 'GET', 'api/events', { query })) as {
          data: EventSummary[];
          pagination: { total: number; page: number; pageSize: number };
        };
        if (!forHumans(opts)) return page;
        const { total, page: number, pageSize } = page.pagination;
        process.stdout.write(`${eventTable(page.data)}\npage ${number} of ${Math.max(1, Math.ceil(total / pageSize))}, ${total} events\n`);
        return undefined;
      }),
    );

  events
    .command('get <event_id>')
    .description('one event with its deliveries')
    .option('--payload', 'with the payload')
    .option('--json', 'JSON even on a terminal')
    .action(
      action(async (client, id: string, opts: { payload?: boolean; json?: boolean }) => {
        const query = { includeDeliveries: true, ...(opts.payload && { includePayload: true }) };
        const event = (await call(client, 'GET', `api/events/${encodeURIComponent(id)}`, { query })) as EventSummary & {
          deliveries: Delivery[];
          headers: Record<string, string>;
          payload?: unknown;
          rejectionMessage?: string;
        };
        if (!forHumans(opts)) return event;
        const lines = [
          eventTable([event]),
          '',
          ...(event.rejectionMessage ? [`refused: ${event.rejectionMessage}`, ''] : []),
          ...Object.entries(event.headers).map(([name, value]) => `${name}: ${value}`),
          '',
          ...(event.deliveries.length > 0 ? [deliveryTable(event.deliveries), ''] : []),
          ...(opts.payload ? [JSON.stringify(event.payload, null, 2)] : []),
        ];
        process.stdout.write(`${lines.join('\n').trimEnd()}\n`);
        return undefined;
      }),
    );

  events
    .command('replay <event_id...>')
    .description('deliver events again (up to 100), to every active destination of their logs or to --destination ones')
    .option('--destination <webhook_id>', 'only this egress webhook (repeatable)', collect)
    .option('--json', 'JSON even on a terminal')
    .action(
      action(async (client, ids: string[], opts: { destination?: string[]; json?: boolean }) => {
        const body = { ...(opts.destination && { destinationIds: opts.destination }) };
        const replayed =
          ids.length === 1
            ? await call(client, 'POST', `api/events/${encodeURIComponent(ids[0]!)}/replay`, { body })
            : await call(client, 'POST', 'api/events/bulk/replay', { body: { eventIds: ids, ...body } });
        if (!forHumans(opts)) return replayed;
        const { deliveriesCreated } = replayed as { deliveriesCreated: number };
        process.stdout.write(`queued ${deliveriesCreated} deliveries\n`);
        return undefined;
      }),
    );
}
