import type { AttemptQuery } from '../domain/types.js';

/**
 * The WHERE conditions of an attempts query beyond its webhook, the same SQL
 * in both backends; `param` adds a value and returns its placeholder. Only
 * the filters given appear, so each shape of query gets its own plan (by
 * message through the (webhook_id, msg_offset, id) index, the rest through
 * (webhook_id, id)) rather than one plan full of `? IS NULL OR` branches.
 */
export function attemptConditions(query: AttemptQuery, param: (value: number) => string): string {
  const where: string[] = [];
  if (query.offset !== undefined) where.push(`msg_offset = ${param(query.offset)}`);
  if (query.belowId !== undefined) where.push(`id < ${param(query.belowId)}`);
  if (query.fromId !== undefined) where.push(`id >= ${param(query.fromId)}`);
  if (query.after !== undefined) where.push(`time >= ${param(query.after)}`);
  if (query.before !== undefined) where.push(`time < ${param(query.before)}`);
  if (query.codeClass === 0) where.push('status_code IS NULL');
  else if (query.codeClass !== undefined) where.push(`status_code >= ${query.codeClass * 100} AND status_code < ${query.codeClass * 100 + 100}`);
  if (query.succeeded === true) where.push('status_code >= 200 AND status_code < 300');
  if (query.succeeded === false) where.push('(status_code IS NULL OR status_code < 200 OR status_code >= 300)');
  return where.map((condition) => ` AND ${condition}`).join('');
}
