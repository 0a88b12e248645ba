/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, and the proxy ones still seen in the
 * wild): they describe one connection, not the request, so they are never
 * stored with a message nor set by a user on a request hooklog makes.
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** An HTTP field name: a token (RFC 9110 §5.1). */
export const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * An HTTP field value that every client sends as it is: printable ASCII,
 * space and tab. Nothing in it can end the header or the request, and no
 * client refuses it (Node's refuses characters past U+00FF).
 */
export const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
