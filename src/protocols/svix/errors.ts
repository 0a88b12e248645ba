import type { HooklogError } from '../../domain/errors.js';

/**
 * Svix's error bodies. Bad input (answered 422) is a list of validation
 * errors, `{detail: [{loc, msg, type}]}`, as Svix's own server writes them;
 * every other error is `{code, detail}`, its code the catalog's stable name.
 */
export function svixErrorBody(error: HooklogError): unknown {
  if (error.entry.kind === 'invalid_input') {
    const where = error.errorName === 'query_param_invalid' ? 'query' : 'body';
    return { detail: [{ loc: [where], msg: error.details, type: `value_error.${error.errorName}` }] };
  }
  return { code: error.errorName, detail: error.details };
}
