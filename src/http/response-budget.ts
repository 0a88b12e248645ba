import type { FastifyReply } from 'fastify';
import { fail } from '../domain/errors.js';

/**
 * Bounds the memory held by large responses being built and sent. A client
 * that asks for a page and never reads it leaves the page in the server's
 * memory until the connection ends; enough of them would exhaust it. Each
 * response reserves its size once its messages are read, before it is
 * encoded, and keeps it until it is sent or its connection ends; while the
 * reservations would pass `maxBytes`, a new one is refused with 503. A
 * response that makes no progress for `stallMs` (its client stopped
 * reading) loses its connection, which frees its share.
 */
export class ResponseBudget {
  private inFlightBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly stallMs: number,
  ) {}

  /** Fails with 503 while the budget is spent, so that a request does not even read what it could not answer. */
  admit(): void {
    if (this.inFlightBytes >= this.maxBytes) this.refuse();
  }

  /**
   * Reserves `bytes` for `reply` until it is sent or its connection ends, and
   * cuts the connection if its client stops reading; fails with 503 when
   * that would pass the budget. One response alone always fits.
   */
  reserve(reply: FastifyReply, bytes: number): void {
    if (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.maxBytes) this.refuse();
    this.inFlightBytes += bytes;
    const socket = reply.raw.socket;
    // Node's server ends a socket whose timeout fires; a client that keeps reading, however slowly, resets it.
    // Once the answer is sent Node puts its keep-alive timeout in this one's place: clearing it
    // here, after that, would leave the idle connection open for ever.
    socket?.setTimeout(this.stallMs);
    reply.raw.once('close', () => {
      this.inFlightBytes -= bytes;
    });
  }

  private refuse(): never {
    fail('server_busy', 'too many large responses are still being sent; retry shortly');
  }
}
