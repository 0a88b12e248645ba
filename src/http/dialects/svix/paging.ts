import { fail } from '../../../domain/errors.js';
import type { PageQuery } from '../../../domain/types.js';

export const MAX_LIMIT = 250;
const DEFAULT_LIMIT = 50;

/** `limit` as Svix takes it: 1 to 250, 50 when left out. */
export function limitOf(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_LIMIT) fail('query_param_invalid', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return limit;
}

export function checkAscending(order: string | undefined): void {
  if (order !== undefined && order !== 'ascending') fail('query_param_invalid', 'order: only ascending is supported for this list');
}

/**
 * A list in id order, paged with iterators: `X` continues after X, `-X`
 * goes back to the page before X. `toKey` turns a shown id back into the
 * stored one (undefined: not an id of this list, refused).
 */
export function pageQuery(query: { limit?: string; iterator?: string; order?: string }, toKey: (id: string) => string | undefined = (id) => id): PageQuery {
  checkAscending(query.order);
  const limit = limitOf(query.limit);
  const iterator = query.iterator;
  if (iterator === undefined || iterator === '') return { limit: limit + 1 };
  const back = iterator.startsWith('-');
  const key = toKey(back ? iterator.slice(1) : iterator) ?? fail('query_param_invalid', 'iterator is not one this list gave');
  return back ? { before: key, limit } : { after: key, limit: limit + 1 };
}

/** A page of `items` (one more than the limit was read going forward, to tell whether the list goes on). */
export function page<T, S>(items: T[], query: PageQuery, idOf: (item: T) => string, shape: (item: T) => S) {
  const forward = query.before === undefined;
  const limit = forward ? query.limit - 1 : query.limit;
  const read = items.slice(0, limit);
  const more = forward ? items.length > limit : true;
  return {
    data: read.map(shape),
    iterator: read.length > 0 ? idOf(read.at(-1)!) : null,
    prevIterator: read.length > 0 ? `-${idOf(read[0]!)}` : null,
    done: !more,
  };
}

/** A page of a newest-first list that a cursor continues. */
export function newestFirst<S>(data: S[], next: string | null) {
  return { data, iterator: next, prevIterator: null, done: next === null };
}

/** Fields of Svix's models hooklog does not support: accepted as null or left out, refused (400) otherwise. */
export function supportedOnlyNull(body: object, names: string[]): void {
  for (const name of names) {
    const value = (body as Record<string, unknown>)[name];
    if (value !== undefined && value !== null) fail('operation_unsupported', `${name} is not supported by hooklog: leave it out or null`);
  }
}
