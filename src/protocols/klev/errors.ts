import type { ErrorName, HooklogError } from '../../domain/errors.js';

/**
 * klev's error codes, `ERR_KLEV_API_<number>`, for every error in the
 * catalog. Numbers 0001–0036 are klev's own and keep klev's meaning; errors
 * klev does not document take numbers from 0100 up, so that they can never
 * collide with klev's. A Record, so that the compiler checks that no error
 * lacks a code.
 */
const NUMBERS: Record<ErrorName, string> = {
  content_type_invalid: '0001',
  authorization_header_invalid: '0002',
  token_invalid: '0003',
  path_not_found: '0005',
  method_not_allowed: '0006',
  json_invalid: '0009',
  offset_param_invalid: '0010',
  len_param_invalid: '0011',
  acl_insufficient: '0014',
  poll_param_invalid: '0025',
  authentication_failed: '0036',
  internal: '0100',
  body_too_large: '0101',
  field_invalid: '0102',
  encoding_invalid: '0103',
  base64_invalid: '0104',
  offset_and_offset_id: '0105',
  id_invalid: '0106',
  log_not_found: '0107',
  token_not_found: '0108',
  offset_not_found: '0109',
  message_not_found: '0110',
  acl_invalid: '0111',
  offset_log_mismatch: '0112',
  shutting_down: '0113',
  query_param_invalid: '0114',
  request_invalid: '0115',
  egress_webhook_not_found: '0116',
  destination_invalid: '0117',
  ingress_webhook_not_found: '0118',
  signature_invalid: '0119',
  secret_invalid: '0120',
  database_unavailable: '0121',
  batch_too_large: '0122',
  utf8_invalid: '0123',
  request_timeout: '0124',
  headers_too_large: '0125',
  too_many_requests: '0126',
  server_busy: '0127',
  expectation_unsupported: '0128',
  path_segment_too_long: '0129',
  attempt_not_found: '0130',
  task_not_found: '0131',
  egress_webhook_inactive: '0132',
  too_many_tasks: '0133',
  application_not_found: '0134',
  endpoint_not_found: '0135',
  event_type_not_found: '0136',
  integration_not_found: '0137',
  uid_taken: '0138',
  event_type_exists: '0139',
  event_id_taken: '0140',
  request_in_progress: '0141',
  message_expunged: '0142',
  operation_unsupported: '0143',
  event_not_found: '0144',
  payload_expired: '0145',
  event_not_replayable: '0146',
  channel_not_found: '0150',
  channel_exists: '0151',
  channel_token_invalid: '0152',
  channel_token_other: '0153',
  too_many_long_polls: '0160',
  database_busy: '0161',
  metrics_token_invalid: '0162',
  transformation_not_found: '0163',
  transformation_invalid: '0164',
  sandbox_unavailable: '0165',
};

export function klevCode(name: ErrorName): string {
  return `ERR_KLEV_API_${NUMBERS[name]}`;
}

/** klev's error body: the code, the catalog's message, and what was wrong in this request. */
export function klevErrorBody(error: HooklogError) {
  return { error: klevCode(error.errorName), message: error.entry.message, details: error.details };
}
