import type { Tokens } from '../auth/tokens.js';
import type { Deliveries } from '../egress/deliveries.js';
import type { EgressWebhooks } from '../egress/egress-webhooks.js';
import type { IngressWebhooks } from '../ingress/ingress-webhooks.js';
import type { Consumer } from '../log/consumer.js';
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
  /** Set when shutdown starts: new requests get 503 instead of racing the close. */
  isClosing: () => boolean;
}
