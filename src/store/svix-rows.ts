import type { Application, EndpointFields, EventType, Integration, PageQuery } from '../domain/types.js';

/**
 * Rows of the tables that hold the Svix API's objects (applications,
 * endpoints, event types, integrations), as both backends return them, and
 * their domain objects; flags differ in type as in ./rows.ts. Labels and
 * lists are stored as JSON text.
 */
type Flag = number | boolean;
const flag = (value: Flag): boolean => value === true || value === 1;

export interface ApplicationRow {
  log_id: string;
  uid: string | null;
  name: string;
  rate_limit: number | null;
  metadata: string;
  created_at: number;
  updated_at: number;
}

export const toApplication = (row: ApplicationRow): Application => ({
  logId: row.log_id,
  uid: row.uid,
  name: row.name,
  rateLimit: row.rate_limit,
  metadata: JSON.parse(row.metadata),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface EndpointRow {
  webhook_id: string;
  log_id: string;
  uid: string | null;
  description: string;
  version: number;
  metadata: string;
  created_at: number;
  updated_at: number;
}

export const toEndpoint = (row: EndpointRow): EndpointFields => ({
  webhookId: row.webhook_id,
  logId: row.log_id,
  uid: row.uid,
  description: row.description,
  version: row.version,
  metadata: JSON.parse(row.metadata),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface EventTypeRow {
  name: string;
  description: string;
  schemas: string | null;
  archived: Flag;
  deprecated: Flag;
  feature_flag: string | null;
  group_name: string | null;
  created_at: number;
  updated_at: number;
}

export const toEventType = (row: EventTypeRow): EventType => ({
  name: row.name,
  description: row.description,
  schemas: row.schemas === null ? null : JSON.parse(row.schemas),
  archived: flag(row.archived),
  deprecated: flag(row.deprecated),
  featureFlag: row.feature_flag,
  groupName: row.group_name,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** An event type's schemas as stored: JSON text, or NULL for none. */
export const schemasJson = (schemas: unknown): string | null => (schemas === null || schemas === undefined ? null : JSON.stringify(schemas));

export interface IntegrationRow {
  id: string;
  log_id: string;
  name: string;
  feature_flags: string;
  token_id: string;
  key: string;
  created_at: number;
  updated_at: number;
}

export const toIntegration = (row: IntegrationRow): Integration => ({
  id: row.id,
  logId: row.log_id,
  name: row.name,
  featureFlags: JSON.parse(row.feature_flags),
  tokenId: row.token_id,
  key: row.key,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** A page's bounds as statement parameters: NULL for an absent bound, which matches every row. */
export const pageBounds = (page: PageQuery) => ({ after: page.after ?? null, before: page.before ?? null, limit: page.limit });

/**
 * Which way to read a page: the rows just before `before` are read
 * descending from it, nearest first, and then turned to ascending order.
 */
export const readsBackward = (page: PageQuery): boolean => page.before !== undefined;

export function inPageOrder<T>(rows: T[], page: PageQuery): T[] {
  return readsBackward(page) ? rows.reverse() : rows;
}
