import type { IdempotencyKeys } from '../auth/idempotency-keys.js';
import type { Integrations } from '../auth/integrations.js';
import type { Tokens } from '../auth/tokens.js';
import type { Deliveries } from '../egress/deliveries.js';
import type { EgressWebhooks } from '../egress/egress-webhooks.js';
import type { Endpoints } from '../egress/endpoints.js';
import type { EventTypes } from '../egress/event-types.js';
import type { Transformations } from '../egress/transformations.js';
import type { Channels } from '../ingress/channels.js';
import type { IngressWebhooks } from '../ingress/ingress-webhooks.js';
import type { ReceivedEvents } from '../ingress/received-events.js';
import type { Applications } from '../log/applications.js';
import type { Consumer } from '../log/consumer.js';
import type { Events } from '../log/events.js';
import type { Logs } from '../log/logs.js';
import type { Offsets } from '../log/offsets.js';
import type { Publisher } from '../log/publisher.js';

/** What the HTTP layer needs from the core. Built by the composition root. */
export interface AppDeps {
  tokens: Tokens;
  logs: Logs;
  offsets: Offsets;
  publisher: Publisher;
  consumer: Consumer;
  egress: EgressWebhooks;
  deliveries: Deliveries;
  ingress: IngressWebhooks;
  receivedEvents: ReceivedEvents;
  channels: Channels;
  applications: Applications;
  endpoints: Endpoints;
  transformations: Transformations;
  eventTypes: EventTypes;
  events: Events;
  integrations: Integrations;
  idempotencyKeys: IdempotencyKeys;
  /** Set when shutdown starts: new requests get 503 instead of racing the close. */
  isClosing: () => boolean;
}
