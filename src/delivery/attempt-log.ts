import type { DeliveryState } from '../domain/types.js';
import type { OutboundResponse } from './outbound.js';
import { succeeded } from './outcome.js';

/** The lines operators need from delivery: no message, header or secret, only ids and what went wrong. */
export interface DeliveryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AttemptReport {
  webhookId: string;
  logId: string;
  offset: number;
  /** 1 for the first attempt of the message. */
  attempt: number;
  trigger: 'scheduled' | 'manual';
  response: OutboundResponse;
  /** When the next attempt is due (ms); null when none is scheduled. */
  nextAttemptAt: number | null;
}

/**
 * Logs a failed attempt at info: the status code, or the error when no
 * response came, and when it is tried next. A success logs nothing: its
 * record is in the attempt history.
 */
export function logAttempt(logger: DeliveryLogger, report: AttemptReport): void {
  const { webhookId, logId, offset, attempt, trigger, response, nextAttemptAt } = report;
  if (succeeded(response)) return;
  logger.info(
    {
      webhookId,
      logId,
      offset,
      attempt,
      trigger,
      ...(response.statusCode === null ? { error: response.error } : { statusCode: response.statusCode }),
      nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
    },
    'delivery attempt failed',
  );
}

/** Logs at warn, with its reason, a deactivation that was stored. */
export function logDeactivation(logger: DeliveryLogger, webhookId: string, logId: string, state: DeliveryState): void {
  logger.warn({ webhookId, logId, reason: state.inactiveReason }, 'egress webhook deactivated');
}
