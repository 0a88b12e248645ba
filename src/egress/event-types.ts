import { EVENT_TYPE_RULE, isEventType } from '../domain/attributes.js';
import { definedOf } from '../domain/defined.js';
import { fail } from '../domain/errors.js';
import type { EventType, PageQuery } from '../domain/types.js';
import type { EventTypeStore } from '../store/store.js';

export interface EventTypeInput {
  description: string;
  schemas?: unknown;
  archived?: boolean;
  deprecated?: boolean;
  featureFlag?: string | null;
  groupName?: string | null;
}

/** Largest schemas document kept for one event type, as JSON. */
export const MAX_SCHEMAS_BYTES = 256 * 1024;
const MAX_DESCRIPTION_LENGTH = 4096;

/**
 * The event type catalogue: the names an endpoint's filter may subscribe to.
 * An archived type stays in the catalogue (filters naming it keep working)
 * but new filters may not name it; creating it again unarchives it.
 */
export class EventTypes {
  constructor(private readonly store: EventTypeStore) {}

  /** Creates the type, or replaces an archived one of the same name. */
  async create(name: string, input: EventTypeInput): Promise<EventType> {
    checkName(name);
    const now = Date.now();
    const eventType = { name, ...checked(input), createdAt: now, updatedAt: now };
    if (await this.store.create(eventType)) return eventType;
    const existing = await this.store.get(name);
    if (!existing?.archived) fail('event_type_exists', `the event type '${name}' exists already`);
    return this.save({ ...eventType, createdAt: existing.createdAt });
  }

  async get(name: string): Promise<EventType> {
    return (await this.store.get(name)) ?? notFound(name);
  }

  list(filter: PageQuery & { includeArchived: boolean }): Promise<EventType[]> {
    return this.store.list(filter);
  }

  /** Replaces every field of the type, creating it when absent (PUT). */
  async replace(name: string, input: EventTypeInput): Promise<{ eventType: EventType; created: boolean }> {
    const existing = await this.store.get(name);
    if (!existing) return { eventType: await this.create(name, input), created: true };
    return { eventType: await this.save({ ...existing, ...checked(input), updatedAt: Date.now() }), created: false };
  }

  async patch(name: string, patch: Partial<EventTypeInput>): Promise<EventType> {
    const existing = await this.get(name);
    return this.save({ ...existing, ...checked({ ...existing, ...definedOf(patch) }), updatedAt: Date.now() });
  }

  /** Archives the type; with `expunge`, removes it from the catalogue. */
  async delete(name: string, expunge: boolean): Promise<void> {
    if (expunge) {
      if (!(await this.store.delete(name))) notFound(name);
      return;
    }
    const existing = await this.get(name);
    await this.save({ ...existing, archived: true, updatedAt: Date.now() });
  }

  /** Fails unless every name is in the catalogue and not archived: what a new filter may name. */
  async checkSubscribable(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const active = await this.store.active([...names]);
    const unknown = names.filter((name) => !active.has(name));
    if (unknown.length > 0) fail('field_invalid', `filterTypes names event types that do not exist or are archived: ${unknown.slice(0, 10).join(', ')}`);
  }

  /**
   * Example `index` of the type's schemas, as Svix keeps them: JSON schemas
   * by version, each with an `examples` list; the newest version that has
   * examples is used.
   */
  async example(name: string, index: number): Promise<Record<string, unknown>> {
    const { schemas } = await this.get(name);
    const versions = typeof schemas === 'object' && schemas !== null ? Object.entries(schemas as Record<string, unknown>) : [];
    const withExamples = versions
      .sort(([a], [b]) => Number(b) - Number(a))
      .map(([, schema]) => (schema as { examples?: unknown } | null)?.examples)
      .find(Array.isArray);
    const example: unknown = withExamples?.[index];
    if (typeof example !== 'object' || example === null || Array.isArray(example)) {
      fail('field_invalid', `the event type '${name}' has no example object at index ${index} in its schemas`);
    }
    return example as Record<string, unknown>;
  }

  private async save(eventType: EventType): Promise<EventType> {
    if (!(await this.store.replace(eventType))) notFound(eventType.name);
    return eventType;
  }
}

function checkName(name: string): void {
  if (!isEventType(name)) fail('field_invalid', `name must be ${EVENT_TYPE_RULE}`);
}

function checked(input: EventTypeInput): Omit<EventType, 'name' | 'createdAt' | 'updatedAt'> {
  if (input.description.length > MAX_DESCRIPTION_LENGTH) fail('field_invalid', `description may be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  const schemas = input.schemas ?? null;
  if (schemas !== null && Buffer.byteLength(JSON.stringify(schemas)) > MAX_SCHEMAS_BYTES) {
    fail('field_invalid', `schemas may take at most ${MAX_SCHEMAS_BYTES} bytes as JSON`);
  }
  return {
    description: input.description,
    schemas,
    archived: input.archived ?? false,
    deprecated: input.deprecated ?? false,
    featureFlag: input.featureFlag ?? null,
    groupName: input.groupName ?? null,
  };
}

function notFound(name: string): never {
  fail('event_type_not_found', `the event type '${name}' does not exist`);
}
