import { createServer } from 'node:http';
import type { Command } from 'commander';
import { REFUSALS, SIGNATURE_HEADER, verifySignature } from '../protocols/klev/signature.js';
import { integer } from './client.js';

/**
 * A local receiver for egress webhooks, as `klev receive` is: it checks each
 * request's X-Klev-Signature and prints the message. A bad request gets 401
 * and a line on stderr; the server keeps running.
 */
export function receiveCommand(program: Command): void {
  program
    .command('receive')
    .description('run a local server that verifies egress webhook signatures and prints each message')
    .requiredOption('--secret <secret>', 'the webhook secret (ewhsec_…)')
    .option('--port <port>', 'port to listen on', integer('--port', 0), 9000)
    .action((opts: { secret: string; port: number }) => {
      const server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const body = Buffer.concat(chunks);
          const header = request.headers[SIGNATURE_HEADER];
          const verdict = verifySignature(Array.isArray(header) ? header[0] : header, opts.secret, body, Date.now() / 1000);
          if (!verdict.ok) {
            process.stderr.write(`rejected ${request.method} ${request.url}: ${REFUSALS[verdict.reason]}\n`);
            response.writeHead(401, { 'content-type': 'text/plain' }).end(`${REFUSALS[verdict.reason]}\n`);
            return;
          }
          process.stdout.write(describe(body, request.headers['content-type']));
          response.writeHead(200, { 'content-length': 0 }).end();
        });
      });
      server.listen(opts.port, () => process.stdout.write(`running server at :${opts.port}\n`));
    });
}

interface DeliveredMessage {
  encoding?: string;
  offset?: number;
  time?: number;
  key?: string;
  value?: string;
}

function describe(body: Buffer, contentType: string | undefined): string {
  const raw = `Payload (${body.length} bytes): ${body.toString('utf8')}\n`;
  if (!contentType?.startsWith('application/json')) return raw;
  let message: DeliveredMessage;
  try {
    message = JSON.parse(body.toString('utf8')) as DeliveredMessage;
  } catch {
    return raw;
  }
  // Not klev's message JSON (a transformation reshaped it): shown as it came.
  if (typeof message !== 'object' || message === null || typeof message.offset !== 'number' || !('encoding' in message)) return raw;
  const text = (field: string | undefined) =>
    field === undefined ? '' : message.encoding === 'base64' ? Buffer.from(field, 'base64').toString('utf8') : field;
  return `Offset: ${message.offset}\n Time: ${goTime(message.time ?? 0)}\n Key: ${text(message.key)}\n Value: ${text(message.value)}\n`;
}

/** Microseconds since the epoch, as klev's Go CLI prints a time: 2023-09-23 17:42:07.24796 +0000 UTC */
function goTime(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  const fraction = String(micros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}
