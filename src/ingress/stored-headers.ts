import type { IncomingHttpHeaders } from 'node:http';
import type { MessageHeaders } from '../domain/types.js';
import { HOP_BY_HOP } from '../protocols/http/headers.js';

/**
 * Request headers never stored with a message, because any token that may
 * consume the log reads stored headers back (`headers=true`):
 * - credentials, meant for hooklog or a proxy on the way, never for consumers:
 *   Authorization, Proxy-Authorization, Cookie;
 * - hop-by-hop headers, which describe one connection, not the webhook
 *   (RFC 7230 §6.1), and any header that Connection names as hop-by-hop.
 * A secret-header webhook's own header holds its secret and is dropped too.
 */
const NOT_STORED = new Set(['authorization', 'proxy-authorization', 'cookie', ...HOP_BY_HOP]);

/** The headers stored with a received message; `secretHeader` is the header that holds the webhook's secret, if any. */
export function storedHeaders(headers: IncomingHttpHeaders, secretHeader?: string): MessageHeaders {
  // This runs on every delivery received: the common Connection values name no header to drop.
  const connection = headers.connection?.toLowerCase();
  const named =
    connection === undefined || connection === 'keep-alive' || connection === 'close' ? null : new Set(connection.split(',').map((name) => name.trim()));
  const secret = secretHeader?.toLowerCase();
  const stored: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_STORED.has(name) || name === secret || named?.has(name)) continue;
    stored[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return stored;
}
