/**
 * The one error catalog. Every error hooklog returns is listed here once, with
 * a stable code. Domain code throws `HooklogError` by name; the HTTP layer maps
 * the error's kind to a status code and the dialect picks the code to show.
 *
 * Codes 0001–0036 are klev's own and keep klev's meaning. Errors klev does not
 * document take codes from 0100 up so they can never collide with klev's.
 * docs/errors.md lists the same table; a test keeps the two in step.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'too_large'
  | 'unavailable'
  | 'internal';

interface CatalogEntry {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly message: string;
}

function entry(number: string, kind: ErrorKind, message: string): CatalogEntry {
  return { code: `ERR_KLEV_API_${number}`, kind, message };
}

export const errorCatalog = {
  content_type_invalid: entry('0001', 'unsupported_media_type', 'Content type invalid'),
  authorization_header_invalid: entry('0002', 'unauthenticated', 'Authorization header invalid'),
  token_invalid: entry('0003', 'unauthenticated', 'Invalid token'),
  path_not_found: entry('0005', 'not_found', 'Path not found'),
  method_not_allowed: entry('0006', 'method_not_allowed', 'Method not allowed'),
  json_invalid: entry('0009', 'invalid_input', 'Invalid JSON'),
  offset_param_invalid: entry('0010', 'invalid_input', 'Offset parameter invalid'),
  len_param_invalid: entry('0011', 'invalid_input', 'Len parameter invalid'),
  acl_insufficient: entry('0014', 'forbidden', 'ACL insufficient permissions'),
  poll_param_invalid: entry('0025', 'invalid_input', 'Poll parameter invalid'),
  authentication_failed: entry('0036', 'unauthenticated', 'Authentication failed'),

  internal: entry('0100', 'internal', 'Internal server error'),
  body_too_large: entry('0101', 'too_large', 'Request body too large'),
  field_invalid: entry('0102', 'invalid_input', 'Field invalid'),
  encoding_invalid: entry('0103', 'invalid_input', 'Encoding invalid'),
  base64_invalid: entry('0104', 'invalid_input', 'Base64 data invalid'),
  offset_and_offset_id: entry('0105', 'invalid_input', 'Only one of offset and offset_id can be set'),
  id_invalid: entry('0106', 'invalid_input', 'Id invalid'),
  log_not_found: entry('0107', 'not_found', 'Log not found'),
  token_not_found: entry('0108', 'not_found', 'Token not found'),
  offset_not_found: entry('0109', 'not_found', 'Offset not found'),
  message_not_found: entry('0110', 'not_found', 'Message not found'),
  acl_invalid: entry('0111', 'invalid_input', 'ACL entry invalid'),
  offset_log_mismatch: entry('0112', 'invalid_input', 'Offset belongs to another log'),
  shutting_down: entry('0113', 'unavailable', 'Server is shutting down'),
  query_param_invalid: entry('0114', 'invalid_input', 'Query parameter invalid'),
  request_invalid: entry('0115', 'invalid_input', 'Request invalid'),
  egress_webhook_not_found: entry('0116', 'not_found', 'Egress webhook not found'),
  destination_invalid: entry('0117', 'invalid_input', 'Destination invalid'),
  ingress_webhook_not_found: entry('0118', 'not_found', 'Ingress webhook not found'),
  signature_invalid: entry('0119', 'unauthenticated', 'Webhook signature invalid'),
  secret_invalid: entry('0120', 'invalid_input', 'Secret invalid'),
  database_unavailable: entry('0121', 'unavailable', 'Database unavailable'),
} as const satisfies Record<string, CatalogEntry>;

export type ErrorName = keyof typeof errorCatalog;

export class HooklogError extends Error {
  override readonly name = 'HooklogError';
  readonly entry: CatalogEntry;

  constructor(
    readonly errorName: ErrorName,
    readonly details: string,
  ) {
    super(`${errorCatalog[errorName].message}: ${details}`);
    this.entry = errorCatalog[errorName];
  }
}

export function fail(name: ErrorName, details: string): never {
  throw new HooklogError(name, details);
}
