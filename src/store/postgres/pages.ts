import type { PageQuery } from '../../domain/types.js';

/**
 * A page's bounds as the first three parameters of a list statement: after,
 * before (NULL for an absent bound, which matches every row) and limit.
 * Statements compare and order ids and names COLLATE "C", byte by byte as
 * SQLite does, whatever the database's collation: ids sort by creation time
 * only so.
 */
export const pageValues = (page: PageQuery): unknown[] => [page.after ?? null, page.before ?? null, page.limit];
