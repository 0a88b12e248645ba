import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { HooklogError } from '../domain/errors.js';
import { addressBytes } from '../domain/ip-address.js';

/**
 * An onRequest hook that lets each client address have at most `max` requests
 * in flight (0: no cap). Public URLs take requests from anyone: without a cap,
 * one address could hold every connection open with bodies sent a byte at a
 * time until the request timeout. Behind a proxy every request shares the
 * proxy's address, so the cap then belongs in the proxy (see the README).
 */
export function limitPerClient(max: number): onRequestHookHandler {
  const inFlight = new Map<string, number>();
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (max === 0) return done();
    const client = clientOf(request.ip);
    const count = inFlight.get(client) ?? 0;
    if (count >= max) return done(new HooklogError('too_many_requests', `at most ${max} requests from one address may be in flight at once`));
    inFlight.set(client, count + 1);
    // 'close' fires once the response is sent or the connection is gone, whichever comes first.
    reply.raw.once('close', () => {
      const left = (inFlight.get(client) ?? 1) - 1;
      if (left === 0) inFlight.delete(client);
      else inFlight.set(client, left);
    });
    done();
  };
}

/**
 * Who a client is, for the cap: its IPv4 address (also when the socket shows
 * it IPv4-mapped), or the /64 of its IPv6 address, since one host commonly
 * holds a whole /64 and could otherwise pick a fresh address per request.
 */
export function clientOf(ip: string): string {
  // The common spellings first, without parsing: this runs on every request to a public URL.
  if (/^(::ffff:)?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(ip)) return ip.slice(ip.lastIndexOf(':') + 1);
  const bytes = addressBytes(ip);
  if (!bytes) return ip;
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.subarray(0, 12).every((byte, i) => byte === (i < 10 ? 0 : 0xff));
  if (mapped) return bytes.subarray(12).join('.');
  return `${Buffer.from(bytes.subarray(0, 8)).toString('hex')}::/64`;
}
