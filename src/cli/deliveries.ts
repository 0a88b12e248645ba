import type { Command } from 'commander';
import { action, type ClientOptions, call, collect, integer } from './client.js';
import { type Output, show, table, time } from './output.js';

/**
 * The delivery operations of one egress webhook: its attempts, its summary,
 * and resend, replay and recover, which wait for their task and show its
 * progress. On a terminal they print tables; piped, or with --json, JSON.
 */

interface Attempt {
  attempt_id: string;
  offset: number;
  attempt: number;
  trigger: string;
  time: number;
  status_code?: number;
  duration_ms: number;
  error?: string;
}

interface Task {
  task_id: string;
  kind: string;
  status: string;
  progress: number;
  total?: number;
  sent: number;
  succeeded: number;
  failed: number;
  error?: string;
}

interface Summary {
  counts: Record<string, number>;
  lag: number;
  active: boolean;
  next_offset: number;
  end_offset: number;
}

/** How often a waiting command asks for its task. */
const POLL_MS = 500;

const iso = (micros: number) => new Date(Math.floor(micros / 1000)).toISOString();

/** Name and value per line, the values aligned. */
function pairs(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}\n`).join('');
}

function taskText(task: Task): string {
  return pairs([
    ['task', task.task_id],
    ['kind', task.kind],
    ['status', task.status],
    ['progress', `${Math.round(task.progress * 100)} %`],
    ['sent', task.total === undefined ? task.sent : `${task.sent} of ${task.total}`],
    ['succeeded', task.succeeded],
    ['failed', task.failed],
    ...(task.error ? [['error', task.error] as [string, string]] : []),
  ]);
}

/**
 * Starts a task and, unless told not to, follows it until it ends: progress
 * goes to stderr (one updating line on a terminal), the task as it ended to
 * stdout. A task that failed exits 1.
 */
async function follow(client: ClientOptions, start: Promise<unknown>, opts: Output & { wait?: boolean }): Promise<undefined> {
  let task = (await start) as Task;
  const terminal = process.stderr.isTTY;
  let shown = '';
  while (opts.wait !== false && task.status === 'running') {
    const line = `${task.kind} ${task.task_id}: ${Math.round(task.progress * 100)} %, ${task.sent}${task.total === undefined ? '' : ` of ${task.total}`} sent, ${task.failed} failed`;
    if (line !== shown) process.stderr.write(terminal ? `\r${line}` : `${line}\n`);
    shown = line;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    task = (await call(client, 'GET', `tasks/${encodeURIComponent(task.task_id)}`)) as Task;
  }
  if (terminal && shown) process.stderr.write('\n');
  // A resend is one message: its failure is the command's.
  if (task.status === 'failed' || (task.kind === 'resend' && task.failed > 0)) process.exitCode = 1;
  return show(opts, task, () => taskText(task));
}

export function deliveryCommands(egress: Command, path: (id: string) => string): void {
  egress
    .command('attempts <webhook_id> [attempt_id]')
    .description('delivery attempts, newest first, a page at a time; or one attempt with its response')
    .option('--offset <n>', "only one message's attempts", integer('--offset', 0))
    .option('--status <status>', 'success (a 2xx answer) or failed')
    .option('--code <class>', '1xx, 2xx, 3xx, 4xx, 5xx, or none (no answer)')
    .option('--after <time>', 'sent at or after this time (microseconds, or a date)', time('--after'))
    .option('--before <time>', 'sent before this time (microseconds, or a date)', time('--before'))
    .option('--limit <n>', 'attempts per page (50 by default)', integer('--limit', 1))
    .option('--cursor <cursor>', 'the next page: the cursor the last one printed')
    .option('--json', 'print JSON even on a terminal')
    .action(
      action(async (client, id: string, attemptId: string | undefined, opts: Output & Record<string, string | number | undefined>) => {
        if (attemptId !== undefined) {
          const one = (await call(client, 'GET', `${path(id)}/attempts/${encodeURIComponent(attemptId)}`)) as Attempt & { response: string };
          return show(opts, one, () => pairs(Object.entries(one).map(([name, value]) => [name, name === 'time' ? iso(value as number) : String(value)])));
        }
        const query = {
          offset: opts.offset,
          status: opts.status,
          code: opts.code,
          after: opts.after,
          before: opts.before,
          limit: opts.limit,
          cursor: opts.cursor,
        };
        const page = (await call(client, 'GET', `${path(id)}/attempts`, { query })) as { attempts: Attempt[]; next_cursor: string | null };
        return show(opts, page, () => {
          const rows = page.attempts.map((a) => [
            a.attempt_id,
            a.offset,
            a.attempt,
            a.trigger,
            iso(a.time),
            a.status_code ?? '-',
            a.duration_ms,
            a.error ?? '',
          ]);
          const more = page.next_cursor ? `more: --cursor ${page.next_cursor}\n` : '';
          return table(['ATTEMPT', 'OFFSET', 'TRY', 'TRIGGER', 'SENT', 'STATUS', 'MS', 'ERROR'], rows) + more;
        });
      }),
    );
  egress
    .command('summary <webhook_id>')
    .description('messages by delivery state, and how far the cursor is behind the log')
    .option('--json', 'print JSON even on a terminal')
    .action(
      action(async (client, id: string, opts: Output) => {
        const summary = (await call(client, 'GET', `${path(id)}/summary`)) as Summary;
        return show(opts, summary, () => {
          const about: Array<[string, string | number]> = [
            ['lag', summary.lag],
            ['cursor', summary.next_offset],
            ['end', summary.end_offset],
            ['active', String(summary.active)],
          ];
          return `${table(['STATE', 'MESSAGES'], Object.entries(summary.counts))}\n${pairs(about)}`;
        });
      }),
    );
  const waitOptions = (command: Command) =>
    command.option('--no-wait', 'print the task at once instead of following it').option('--json', 'print JSON even on a terminal');
  waitOptions(
    egress
      .command('resend <webhook_id>')
      .description('send one message again, as a manual attempt')
      .requiredOption('--offset <n>', 'the message', integer('--offset', 0)),
  ).action(
    action((client, id: string, opts: Output & { offset: number; wait?: boolean }) =>
      follow(client, call(client, 'POST', `${path(id)}/resend`, { body: { offset: opts.offset } }), opts),
    ),
  );
  waitOptions(
    egress
      .command('replay <webhook_id>')
      .description('send a range of the log again, as manual attempts, without moving the cursor')
      .option('--since <offset>', 'the first offset', integer('--since', 0))
      .option('--until <offset>', 'the offset to stop before (the end of the log by default)', integer('--until', 0))
      .option('--since-time <time>', 'instead of offsets: messages from this time (microseconds, or a date)', time('--since-time'))
      .option('--until-time <time>', 'and before this time', time('--until-time')),
  ).action(
    action((client, id: string, opts: Output & { since?: number; until?: number; sinceTime?: number; untilTime?: number; wait?: boolean }) =>
      follow(
        client,
        call(client, 'POST', `${path(id)}/replay`, { body: { since: opts.since, until: opts.until, since_time: opts.sinceTime, until_time: opts.untilTime } }),
        opts,
      ),
    ),
  );
  waitOptions(
    egress
      .command('recover <webhook_id>')
      .description('send again every message whose delivery failed since a time')
      .requiredOption('--since <time>', 'failures since this time (microseconds, or a date)', time('--since')),
  ).action(
    action((client, id: string, opts: Output & { since: number; wait?: boolean }) =>
      follow(client, call(client, 'POST', `${path(id)}/recover`, { body: { since: opts.since } }), opts),
    ),
  );
  egress
    .command('task <task_id>')
    .description('a resend, replay or recover task: its status and progress')
    .option('--json', 'print JSON even on a terminal')
    .action(
      action(async (client, id: string, opts: Output) => {
        const task = (await call(client, 'GET', `tasks/${encodeURIComponent(id)}`)) as Task;
        return show(opts, task, () => taskText(task));
      }),
    );
}

/** `--filter-event-type` and `--filter-channel`, repeatable, on create and update. */
export function filterOptions(command: Command): Command {
  return command
    .option('--filter-event-type <type>', 'send only messages of this event type; repeatable', collect)
    .option('--filter-channel <channel>', 'send only messages in this channel; repeatable', collect)
    .option('--rate-limit <n>', 'at most this many requests per second (0: no limit)', integer('--rate-limit', 0))
    .option('--no-filters', 'on update: clear both filters, so that every message is sent');
}
