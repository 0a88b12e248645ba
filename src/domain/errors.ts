/**
 * The one error catalog. Every error hooklog returns is listed here once, by
 * name, with its kind and a message. Domain code throws `HooklogError` by
 * name; the HTTP layer maps the kind to a status code, and each API dialect
 * shows the error in its own wire form (klev's codes are in
 * protocols/klev/errors.ts). docs/errors.md lists the klev form; a test keeps
 * the two in step.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'conflict'
  | 'unsupported'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'too_large'
  | 'headers_too_large'
  | 'timeout'
  | 'rate_limited'
  | 'expectation_failed'
  | 'uri_too_long'
  | 'unavailable'
  | 'internal';

interface CatalogEntry {
  readonly kind: ErrorKind;
  readonly message: string;
  /** For an error that passes with time: how many seconds a client should wait before it tries again (HTTP's Retry-After). */
  readonly retryAfterSeconds?: number;
}

function entry(kind: ErrorKind, message: string, retryAfterSeconds?: number): CatalogEntry {
  return retryAfterSeconds === undefined ? { kind, message } : { kind, message, retryAfterSeconds };
}

export const errorCatalog = {
  content_type_invalid: entry('unsupported_media_type', 'Content type invalid'),
  authorization_header_invalid: entry('unauthenticated', 'Authorization header invalid'),
  token_invalid: entry('unauthenticated', 'Invalid token'),
  path_not_found: entry('not_found', 'Path not found'),
  method_not_allowed: entry('method_not_allowed', 'Method not allowed'),
  json_invalid: entry('invalid_input', 'Invalid JSON'),
  offset_param_invalid: entry('invalid_input', 'Offset parameter invalid'),
  len_param_invalid: entry('invalid_input', 'Len parameter invalid'),
  acl_insufficient: entry('forbidden', 'ACL insufficient permissions'),
  poll_param_invalid: entry('invalid_input', 'Poll parameter invalid'),
  authentication_failed: entry('unauthenticated', 'Authentication failed'),

  internal: entry('internal', 'Internal server error'),
  body_too_large: entry('too_large', 'Request body too large'),
  field_invalid: entry('invalid_input', 'Field invalid'),
  encoding_invalid: entry('invalid_input', 'Encoding invalid'),
  base64_invalid: entry('invalid_input', 'Base64 data invalid'),
  offset_and_offset_id: entry('invalid_input', 'Only one of offset and offset_id can be set'),
  id_invalid: entry('invalid_input', 'Id invalid'),
  log_not_found: entry('not_found', 'Log not found'),
  token_not_found: entry('not_found', 'Token not found'),
  offset_not_found: entry('not_found', 'Offset not found'),
  message_not_found: entry('not_found', 'Message not found'),
  acl_invalid: entry('invalid_input', 'ACL entry invalid'),
  offset_log_mismatch: entry('invalid_input', 'Offset belongs to another log'),
  // Another node (behind the same balancer) can serve it at once; this one will not again.
  shutting_down: entry('unavailable', 'Server is shutting down', 1),
  query_param_invalid: entry('invalid_input', 'Query parameter invalid'),
  request_invalid: entry('invalid_input', 'Request invalid'),
  egress_webhook_not_found: entry('not_found', 'Egress webhook not found'),
  destination_invalid: entry('invalid_input', 'Destination invalid'),
  ingress_webhook_not_found: entry('not_found', 'Ingress webhook not found'),
  signature_invalid: entry('unauthenticated', 'Webhook signature invalid'),
  secret_invalid: entry('invalid_input', 'Secret invalid'),
  // A restart or a failover takes seconds; the pool reconnects by itself.
  database_unavailable: entry('unavailable', 'Database unavailable', 5),
  batch_too_large: entry('invalid_input', 'Too many messages in one batch'),
  utf8_invalid: entry('invalid_input', 'Text is not valid UTF-8'),
  request_timeout: entry('timeout', 'Request not received in time'),
  headers_too_large: entry('headers_too_large', 'Request headers too large'),
  // A place frees when one of the client's requests in flight ends, which takes well under a second.
  too_many_requests: entry('rate_limited', 'Too many requests from one client', 1),
  // The memory frees as clients read the responses already sent.
  server_busy: entry('unavailable', 'Server busy', 1),
  expectation_unsupported: entry('expectation_failed', 'Expectation not supported'),
  path_segment_too_long: entry('uri_too_long', 'Path segment too long'),
  attempt_not_found: entry('not_found', 'Delivery attempt not found'),
  task_not_found: entry('not_found', 'Task not found'),
  egress_webhook_inactive: entry('conflict', 'Egress webhook inactive'),
  too_many_tasks: entry('conflict', 'Too many tasks running'),
  application_not_found: entry('not_found', 'Application not found'),
  endpoint_not_found: entry('not_found', 'Endpoint not found'),
  event_type_not_found: entry('not_found', 'Event type not found'),
  integration_not_found: entry('not_found', 'Integration not found'),
  uid_taken: entry('conflict', 'Uid already in use'),
  event_type_exists: entry('conflict', 'Event type already exists'),
  event_id_taken: entry('conflict', 'Event id already used'),
  request_in_progress: entry('conflict', 'Request in progress'),
  message_expunged: entry('conflict', 'Message content expunged'),
  operation_unsupported: entry('unsupported', 'Operation not supported'),
  event_not_found: entry('not_found', 'Event not found'),
  payload_expired: entry('gone', 'Event payload expired'),
  event_not_replayable: entry('conflict', 'Event cannot be replayed'),
  channel_not_found: entry('not_found', 'Channel not found'),
  channel_exists: entry('conflict', 'Channel already exists'),
  channel_token_invalid: entry('unauthenticated', 'Channel token invalid'),
  channel_token_other: entry('forbidden', 'Token of another channel'),
  // A place frees when a waiting long-poll ends: its poll runs out or messages arrive.
  too_many_long_polls: entry('rate_limited', 'Too many long-polls waiting', 5),
  // A statement or a wait for a connection already took its full timeout: give the database room.
  database_busy: entry('unavailable', 'Database busy', 5),
  metrics_token_invalid: entry('unauthenticated', 'Metrics token invalid'),
  transformation_not_found: entry('not_found', 'Transformation not found'),
  transformation_invalid: entry('invalid_input', 'Transformation invalid'),
  sandbox_unavailable: entry('unavailable', 'Sandbox unavailable', 5),
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
