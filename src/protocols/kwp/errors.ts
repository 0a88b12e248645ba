import type { HooklogError } from '../../domain/errors.js';

/**
 * Kaiman Webhooks Proxy's error body, `{"error": "..."}`, with the stable
 * code of the error beside it (`code`, the native API's code for it, which
 * the composition root gives, as this format has none of its own).
 */
export function kwpErrorBody(error: HooklogError, code: string) {
  return { error: `${error.entry.message}: ${error.details}`, code };
}
