import { demand, onLog, type Principal } from '../auth/principal.js';
import { requestOf } from '../delivery/payload.js';
import { fail } from '../domain/errors.js';
import type { DeliveryRequest, Transformation } from '../domain/types.js';
import type { EgressStore, MessageStore } from '../store/store.js';
import type { Transformed, Transformer } from '../transformation/transformer.js';
import type { EgressWebhooks } from './egress-webhooks.js';

/** The longest code a transformation may hold: it is read with its webhook and sent to the sandbox on every run. */
export const MAX_CODE_BYTES = 64 * 1024;

/** What a change sets; a field left out stays as it is. null code removes the transformation. */
export interface TransformationChange {
  code?: string | null;
  enabled?: boolean;
}

/** A test run's result: the request that would be sent, or why none would be. */
export type TestResult = { request: DeliveryRequest } | { cancelled: true } | { error: string };

/**
 * Destinations' transformations: stored per egress webhook (a Svix
 * endpoint's included), and run by its lane before each request is signed.
 * Code can send a log's messages anywhere, reshaped, so changing it needs the
 * same right as changing the destination: consume on the log.
 */
export class Transformations {
  constructor(
    private readonly store: Pick<EgressStore, 'transformation' | 'setTransformation'>,
    private readonly egress: Pick<EgressWebhooks, 'get'>,
    private readonly messages: Pick<MessageStore, 'read'>,
    private readonly transformer: Transformer,
  ) {}

  async get(webhookId: string): Promise<Transformation> {
    await this.egress.get(webhookId);
    return (await this.store.transformation(webhookId)) ?? notFound(webhookId);
  }

  /** The transformation, or undefined when the webhook has none. */
  async find(webhookId: string): Promise<Transformation | undefined> {
    await this.egress.get(webhookId);
    return this.store.transformation(webhookId);
  }

  /**
   * Changes the webhook's transformation, or makes it. Code is checked in
   * the sandbox before it is stored: one that does not load fails here, not
   * at every delivery. Enabled unless said otherwise when new. With
   * `existing`, there must be one already.
   */
  async change(by: Principal, webhookId: string, change: TransformationChange, { existing = false } = {}): Promise<Transformation | undefined> {
    const webhook = await this.egress.get(webhookId);
    demand(by, onLog('consume', webhook.logId));
    const current = await this.store.transformation(webhookId);
    // A change of one field (klev's PATCH) needs a transformation to change.
    if (existing && !current) notFound(webhookId);
    if (change.code === null) {
      if (change.enabled === true) fail('field_invalid', 'a transformation without code cannot be enabled');
      await this.store.setTransformation(webhookId, null);
      return undefined;
    }
    const code = change.code ?? current?.code;
    if (code === undefined) {
      // Svix's PATCH may set `enabled` alone; with no code there is nothing to run.
      if (change.enabled) fail('field_invalid', 'the endpoint has no transformation code to enable');
      return undefined;
    }
    if (change.code !== undefined) await this.check(change.code);
    const transformation = { code, enabled: change.enabled ?? current?.enabled ?? true, updatedAt: Date.now() };
    // Deleted meanwhile: its not-found, as at the start.
    if (!(await this.store.setTransformation(webhookId, transformation))) await this.egress.get(webhookId);
    return transformation;
  }

  async delete(by: Principal, webhookId: string): Promise<Transformation> {
    const webhook = await this.egress.get(webhookId);
    demand(by, onLog('consume', webhook.logId));
    const current = (await this.store.transformation(webhookId)) ?? notFound(webhookId);
    await this.store.setTransformation(webhookId, null);
    return current;
  }

  /**
   * Runs the stored transformation, or `code` when given, on the request
   * that would deliver the message at `offset`, and sends nothing. It shows
   * the message, so it needs consume on the log.
   */
  async test(by: Principal, webhookId: string, offset: number, code?: string): Promise<TestResult> {
    const webhook = await this.egress.get(webhookId);
    demand(by, onLog('consume', webhook.logId));
    if (code !== undefined) checkSize(code);
    const run = code ?? (await this.store.transformation(webhookId))?.code ?? notFound(webhookId);
    const [message] = await this.messages.read(webhook.logId, offset, 1);
    if (message?.offset !== offset) fail('message_not_found', `log '${webhook.logId}' has no message at offset ${offset}`);
    return resultOf(await this.transformer.apply(run, requestOf(webhook, message), message.attributes?.eventType ?? null));
  }

  private async check(code: string): Promise<void> {
    checkSize(code);
    const problem = await this.transformer.check(code);
    if (problem !== undefined) fail('transformation_invalid', problem);
  }
}

function resultOf(transformed: Transformed): TestResult {
  if (!('error' in transformed)) return transformed;
  // The sandbox could not try the code: no result of the code's to show.
  if (transformed.kind === 'unavailable') fail('sandbox_unavailable', transformed.error);
  return { error: transformed.error };
}

function checkSize(code: string): void {
  if (Buffer.byteLength(code) > MAX_CODE_BYTES) fail('transformation_invalid', `the code may be at most ${MAX_CODE_BYTES} bytes`);
}

function notFound(webhookId: string): never {
  fail('transformation_not_found', `egress webhook '${webhookId}' has no transformation`);
}
