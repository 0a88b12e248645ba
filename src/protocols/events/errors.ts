import type { ErrorName, HooklogError } from '../../domain/errors.js';

/** The codes Hookbase's events API documents; other errors go by their catalog name, in the same upper case. */
const DOCUMENTED: Partial<Record<ErrorName, string>> = {
  event_not_found: 'RESOURCE_NOT_FOUND',
  egress_webhook_not_found: 'RESOURCE_NOT_FOUND',
  path_not_found: 'RESOURCE_NOT_FOUND',
  payload_expired: 'PAYLOAD_EXPIRED',
};

/**
 * Hookbase's error body, `{error, message, code}`: `error` is the status's
 * reason phrase (given by the caller, which knows the status), `message`
 * what was wrong, `code` a stable code.
 */
export function hookbaseErrorBody(error: HooklogError, reason: string): { error: string; message: string; code: string } {
  return { error: reason, message: error.details, code: DOCUMENTED[error.errorName] ?? error.errorName.toUpperCase() };
}
