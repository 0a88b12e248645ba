import type { Principal } from '../auth/principal.js';
import { definedOf } from '../domain/defined.js';
import { fail } from '../domain/errors.js';
import { checkLabels, checkUid } from '../domain/labels.js';
import type { Application, CustomHeaders, EgressWebhook, EndpointFields, Labels, PageQuery } from '../domain/types.js';
import type { EndpointStore } from '../store/store.js';
import { checkSecret, type EgressWebhooks } from './egress-webhooks.js';
import type { EventTypes } from './event-types.js';

/** What an endpoint is, as the Svix API sets it. */
export interface EndpointInput {
  url: string;
  uid?: string | null;
  description?: string;
  version?: number | null;
  metadata?: Labels;
  filterTypes?: string[] | null;
  channels?: string[] | null;
  rateLimit?: number | null;
  disabled?: boolean;
  headers?: CustomHeaders;
  /** A whsec_ key; absent or null: one is made. */
  secret?: string | null;
}

export type EndpointPatch = Partial<Omit<EndpointInput, 'headers'>>;

/** An endpoint: the egress webhook that delivers, and its Svix fields. */
export interface Endpoint {
  webhook: EgressWebhook;
  fields: EndpointFields;
}

/** The prefix of endpoint ids, which a uid may not start with. */
export const ENDPOINT_ID_PREFIX = 'ep_';
/** Why a disabled endpoint is inactive: distinguishes it from one that delivery gave up on. */
export const DISABLED = 'disabled by the user';
/** How long a rotated-out secret keeps signing, as Svix promises. */
const ROTATION_OVERLAP_SECONDS = 24 * 3600;
const MAX_DESCRIPTION_LENGTH = 4096;

/**
 * Svix endpoints: egress webhooks of an application's log that deliver
 * every message in parallel, signed with Svix's headers, filtered by the
 * event type catalogue's names and by channels.
 */
export class Endpoints {
  constructor(
    private readonly egress: EgressWebhooks,
    private readonly store: EndpointStore,
    private readonly eventTypes: EventTypes,
  ) {}

  /** An endpoint of `app`; without a rate limit of its own, it takes the application's. */
  async create(by: Principal, app: Application, input: EndpointInput): Promise<Endpoint> {
    const { logId } = app;
    await this.eventTypes.checkSubscribable(input.filterTypes ?? []);
    const now = Date.now();
    const fields = { logId, ...checkedFields(input), createdAt: now, updatedAt: now };
    const { webhook } = await this.egress.create(by, {
      logId,
      destination: input.url,
      payload: 'value',
      mode: 'parallel',
      signing: 'svix',
      headers: input.headers,
      filter: { eventTypes: input.filterTypes ?? [], channels: input.channels ?? [] },
      rateLimit: input.rateLimit ?? app.rateLimit,
      secret: input.secret ?? undefined,
      endpoint: fields,
      // Made disabled, never live for a moment.
      disable: input.disabled ? DISABLED : undefined,
    });
    return { webhook, fields: { ...fields, webhookId: webhook.id } };
  }

  /** The endpoint a path names in the application of `logId`, by webhook id or uid; undefined when there is none. */
  async find(logId: string, webhookId: string | undefined, uid: string): Promise<Endpoint | undefined> {
    const fields = webhookId ? await this.store.get(webhookId) : await this.store.byUid(logId, uid);
    const webhook = fields?.logId === logId ? await this.egress.find(fields.webhookId) : undefined;
    return webhook && fields && { webhook, fields };
  }

  async list(logId: string, page: PageQuery): Promise<Endpoint[]> {
    const endpoints: Endpoint[] = [];
    // One at a time: a page of hundreds at once would take every pooled connection.
    for (const fields of await this.store.list(logId, page)) {
      // One deleted since the page was read is left out.
      const webhook = await this.egress.find(fields.webhookId);
      if (webhook) endpoints.push({ webhook, fields });
    }
    return endpoints;
  }

  /** Changes the fields given; a filter or channel list given as null clears it. */
  async patch(by: Principal, endpoint: Endpoint, patch: EndpointPatch): Promise<Endpoint> {
    const { webhook } = endpoint;
    // What can be refused is checked before anything changes: a refused patch changes nothing.
    if (patch.filterTypes) await this.eventTypes.checkSubscribable(patch.filterTypes);
    const { uid } = checkedFields({ ...endpoint.fields, ...definedOf(patch) } as EndpointInput);
    const holder = uid === null || uid === endpoint.fields.uid ? undefined : await this.store.byUid(endpoint.fields.logId, uid);
    if (holder && holder.webhookId !== webhook.id) uidTaken(uid);
    if (patch.secret != null) checkSecret(webhook.signing, patch.secret);
    const filter =
      patch.filterTypes === undefined && patch.channels === undefined
        ? undefined
        : {
            ...(patch.filterTypes !== undefined && { eventTypes: patch.filterTypes ?? [] }),
            ...(patch.channels !== undefined && { channels: patch.channels ?? [] }),
          };
    const changed = await this.egress.update(by, webhook.id, {
      destination: patch.url,
      filter,
      rateLimit: patch.rateLimit,
    });
    const fields = await this.saveFields(endpoint.fields, patch);
    // A given secret takes over at once: the one it replaces was the user's to retire.
    if (patch.secret != null) await this.egress.rotate(webhook.id, 0, patch.secret);
    const updated = { webhook: changed, fields };
    return patch.disabled === undefined ? updated : this.setDisabled(by, updated, patch.disabled);
  }

  /** Replaces every field (PUT): those left out take their defaults, the rate limit its application's. The headers and the secret stay. */
  update(by: Principal, app: Application, endpoint: Endpoint, input: Omit<EndpointInput, 'headers' | 'secret'>): Promise<Endpoint> {
    return this.patch(by, endpoint, {
      url: input.url,
      uid: input.uid ?? null,
      description: input.description ?? '',
      version: input.version ?? 1,
      metadata: input.metadata ?? {},
      filterTypes: input.filterTypes ?? null,
      channels: input.channels ?? null,
      rateLimit: input.rateLimit ?? app.rateLimit,
      disabled: input.disabled ?? false,
    });
  }

  async delete(endpoint: Endpoint): Promise<void> {
    await this.egress.delete(endpoint.webhook.id);
  }

  /** The secret requests are signed with now. */
  async secret(endpoint: Endpoint): Promise<string> {
    return this.egress.currentSecret(endpoint.webhook.id);
  }

  /** A new secret (`key`, or a new one); the old one keeps signing for a day. */
  async rotateSecret(endpoint: Endpoint, key: string | undefined): Promise<void> {
    await this.egress.rotate(endpoint.webhook.id, ROTATION_OVERLAP_SECONDS, key);
  }

  /** Replaces the custom headers; `remove` names headers to drop from those kept (a PATCH). */
  async setHeaders(by: Principal, endpoint: Endpoint, headers: CustomHeaders, merge: { remove: string[] } | undefined): Promise<Endpoint> {
    const lower = (names: Iterable<string>) => [...names].map((name) => name.toLowerCase());
    let next = headers;
    if (merge) {
      const dropped = new Set(lower(merge.remove));
      const kept = Object.entries(endpoint.webhook.headers).filter(([name]) => !dropped.has(name));
      next = { ...Object.fromEntries(kept), ...headers };
    }
    return { ...endpoint, webhook: await this.egress.update(by, endpoint.webhook.id, { headers: next }) };
  }

  private async setDisabled(by: Principal, endpoint: Endpoint, disabled: boolean): Promise<Endpoint> {
    const { active } = endpoint.webhook.state;
    if (disabled === !active) return endpoint;
    const webhook = await this.egress.update(by, endpoint.webhook.id, disabled ? { disable: DISABLED } : { active: true });
    return { ...endpoint, webhook };
  }

  private async saveFields(fields: EndpointFields, patch: EndpointPatch): Promise<EndpointFields> {
    const changes = checkedFields({ ...fields, ...definedOf(patch) } as EndpointInput);
    const saved = await this.store.update(fields.webhookId, { ...changes, nowMs: Date.now() });
    if (saved === 'uid_taken') uidTaken(patch.uid);
    return saved ?? fail('endpoint_not_found', `endpoint '${fields.webhookId}' does not exist`);
  }
}

function checkedFields(input: EndpointInput): Pick<EndpointFields, 'uid' | 'description' | 'version' | 'metadata'> {
  const description = input.description ?? '';
  if (description.length > MAX_DESCRIPTION_LENGTH) fail('field_invalid', `description may be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  const version = input.version ?? 1;
  if (!Number.isInteger(version) || version < 1) fail('field_invalid', 'version must be a whole number >= 1');
  return {
    uid: input.uid == null ? null : checkUid(input.uid, ENDPOINT_ID_PREFIX),
    description,
    version,
    metadata: checkLabels(input.metadata ?? {}),
  };
}

function uidTaken(uid: string | null | undefined): never {
  fail('uid_taken', `another endpoint of the application has the uid ${JSON.stringify(uid)}`);
}
