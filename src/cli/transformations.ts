import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, call, integer } from './client.js';

/** The code from a file, or from standard input with `-`. */
function code(file: string): string {
  return readFileSync(file === '-' ? 0 : file, 'utf8');
}

/** `egress-webhooks transformation …`: the JavaScript that may change or cancel each request before it is signed. */
export function transformationCommands(egress: Command, path: (id: string) => string): void {
  const transformation = egress
    .command('transformation')
    .description('JavaScript run on each request before it is signed: handler(webhook) may change the method, URL, headers and payload, or cancel it');
  const url = (id: string) => `${path(id)}/transformation`;
  transformation
    .command('set <webhook_id>')
    .description('set the code (checked by the server before it is stored); enabled unless --disabled')
    .requiredOption('--file <path>', 'the JavaScript file, or - for standard input')
    .option('--disabled', 'store the code without running it')
    .action(
      action((client, id: string, opts: { file: string; disabled?: boolean }) =>
        call(client, 'PUT', url(id), { body: { code: code(opts.file), enabled: !opts.disabled } }),
      ),
    );
  transformation
    .command('enable <webhook_id>')
    .description('run the stored code again')
    .action(action((client, id: string) => call(client, 'PATCH', url(id), { body: { enabled: true } })));
  transformation
    .command('disable <webhook_id>')
    .description('keep the code but stop running it: requests go out as they are')
    .action(action((client, id: string) => call(client, 'PATCH', url(id), { body: { enabled: false } })));
  transformation.command('get <webhook_id>').action(action((client, id: string) => call(client, 'GET', url(id))));
  transformation.command('delete <webhook_id>').action(action((client, id: string) => call(client, 'DELETE', url(id))));
  transformation
    .command('test <webhook_id>')
    .description('run the code on a stored message and print the request it would send; nothing is sent. Exits 1 when the code fails')
    .requiredOption('--offset <n>', "the message's offset in the webhook's log", integer('--offset', 0))
    .option('--file <path>', 'try this code (or - for standard input) instead of the stored one')
    .action(
      action(async (client, id: string, opts: { offset: number; file?: string }) => {
        const result = (await call(client, 'POST', `${url(id)}/test`, {
          body: { offset: opts.offset, ...(opts.file !== undefined && { code: code(opts.file) }) },
        })) as { result: string };
        if (result.result === 'failed') process.exitCode = 1;
        return result;
      }),
    );
}
