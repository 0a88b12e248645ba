import type { Command } from 'commander';
import { action, call, collect, integer } from './client.js';
import { type Output, show, table, time } from './output.js';

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

const iso = (micros: number) => new Date(Math.floor(micros / 1000)).toISOString();

function eventTable(events: EventSummary[]): string {
  const rows = events.map((event) => [
    event.id,
    event.source.name || event.source.id,
    event.status,
    `${event.deliveriesSucceeded}/${event.deliveriesCount}`,
    event.deliveriesFailed,
    event.payloadSize,
    event.receivedAt,
  ]);
  return table(['ID', 'SOURCE', 'STATUS', 'DELIVERED', 'FAILED', 'BYTES', 'RECEIVED'], rows);
}

function deliveryTable(deliveries: Delivery[]): string {
  const rows = deliveries.map((d) => [d.destinationId, d.destinationName ?? '', d.status, d.attemptCount, d.statusCode ?? '-', d.error ?? '']);
  return table(['DESTINATION', 'NAME', 'STATUS', 'ATTEMPTS', 'CODE', 'ERROR'], rows);
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
    .option('--from <time>', 'received at or after (microseconds, or a date)', time('--from'))
    .option('--to <time>', 'received at or before (microseconds, or a date)', time('--to'))
    .option('--search <text>', 'a substring of the payload')
    .option('--signature-valid <true|false>', 'true: accepted only; false: refused for their signature only')
    .option('--json', 'JSON even on a terminal')
    .action(
      action(async (client, opts: Record<string, string | number | undefined> & Output & { from?: number; to?: number }) => {
        const query = {
          page: opts.page,
          pageSize: opts.pageSize,
          sourceId: opts.source,
          status: opts.status,
          from: opts.from === undefined ? undefined : iso(opts.from),
          to: opts.to === undefined ? undefined : iso(opts.to),
          search: opts.search,
          signatureValid: opts.signatureValid,
        };
        const page = (await call(client, 'GET', 'api/events', { query })) as {
          data: EventSummary[];
          pagination: { total: number; page: number; pageSize: number };
        };
        const { total, page: number, pageSize } = page.pagination;
        const pages = Math.max(1, Math.ceil(total / pageSize));
        return show(opts, page, () => `${eventTable(page.data)}page ${number} of ${pages}, ${total} event${total === 1 ? '' : 's'}\n`);
      }),
    );

  events
    .command('get <event_id>')
    .description('one event with its deliveries')
    .option('--payload', 'with the payload')
    .option('--json', 'JSON even on a terminal')
    .action(
      action(async (client, id: string, opts: Output & { payload?: boolean }) => {
        const query = { includeDeliveries: true, ...(opts.payload && { includePayload: true }) };
        const event = (await call(client, 'GET', `api/events/${encodeURIComponent(id)}`, { query })) as EventSummary & {
          deliveries: Delivery[];
          headers: Record<string, string>;
          payload?: unknown;
          rejectionMessage?: string;
        };
        const lines = [
          eventTable([event]),
          ...(event.rejectionMessage ? [`refused: ${event.rejectionMessage}`, ''] : []),
          ...Object.entries(event.headers).map(([name, value]) => `${name}: ${value}`),
          '',
          ...(event.deliveries.length > 0 ? [deliveryTable(event.deliveries)] : []),
          ...(opts.payload ? [JSON.stringify(event.payload, null, 2)] : []),
        ];
        return show(opts, event, () => `${lines.join('\n').trimEnd()}\n`);
      }),
    );

  events
    .command('replay <event_id...>')
    .description('deliver events again (up to 100), to every active destination of their logs or to --destination ones')
    .option('--destination <webhook_id>', 'only this egress webhook (repeatable)', collect)
    .option('--json', 'JSON even on a terminal')
    .action(
      action(async (client, ids: string[], opts: Output & { destination?: string[] }) => {
        const body = { ...(opts.destination && { destinationIds: opts.destination }) };
        const replayed =
          ids.length === 1
            ? await call(client, 'POST', `api/events/${encodeURIComponent(ids[0]!)}/replay`, { body })
            : await call(client, 'POST', 'api/events/bulk/replay', { body: { eventIds: ids, ...body } });
        return show(opts, replayed, () => `queued ${(replayed as { deliveriesCreated: number }).deliveriesCreated} deliveries\n`);
      }),
    );
}
