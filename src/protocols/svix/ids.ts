import { isKsuid } from '../../domain/ids.js';

/**
 * Svix's ids for hooklog's objects, computed rather than stored: an
 * application is a log (`app_` and the log's KSUID), an endpoint an egress
 * webhook (`ep_` and its KSUID). A message is an offset of its log, and an
 * attempt a numbered attempt of its endpoint; both carry the KSUID of their
 * parent, so that an id is unique across applications (receivers
 * de-duplicate by `svix-id`) and one taken from another application is
 * never mistaken for one of this.
 */
const KSUID_LENGTH = 27;

function ksuidOf(prefix: string, id: string): string | undefined {
  if (!id.startsWith(prefix)) return undefined;
  const ksuid = id.slice(prefix.length);
  return isKsuid(ksuid) ? ksuid : undefined;
}

/** `<prefix>_<ksuid><decimal number>`, or undefined for anything else. */
function numbered(prefix: string, id: string): { ksuid: string; n: number } | undefined {
  if (!id.startsWith(prefix) || id.length <= prefix.length + KSUID_LENGTH) return undefined;
  const ksuid = id.slice(prefix.length, prefix.length + KSUID_LENGTH);
  const digits = id.slice(prefix.length + KSUID_LENGTH);
  if (!isKsuid(ksuid) || !/^(0|[1-9][0-9]{0,15})$/.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? { ksuid, n } : undefined;
}

export const svixIds = {
  app: (logId: string) => `app_${logId.slice('log_'.length)}`,
  /** The log of an `app_` id; undefined when `id` is not one (a uid, perhaps). */
  logOf: (id: string) => {
    const ksuid = ksuidOf('app_', id);
    return ksuid && `log_${ksuid}`;
  },
  endpoint: (webhookId: string) => `ep_${webhookId.slice('ewh_'.length)}`,
  webhookOf: (id: string) => {
    const ksuid = ksuidOf('ep_', id);
    return ksuid && `ewh_${ksuid}`;
  },
  message: (logId: string, offset: number) => `msg_${logId.slice('log_'.length)}${offset}`,
  /** The offset of a message id of `logId`'s application; undefined for another application's or a malformed one. */
  offsetOf: (logId: string, id: string) => {
    const parsed = numbered('msg_', id);
    return parsed && `log_${parsed.ksuid}` === logId ? parsed.n : undefined;
  },
  attempt: (webhookId: string, attemptId: number) => `atmpt_${webhookId.slice('ewh_'.length)}${attemptId}`,
  /** The endpoint's webhook and the attempt's number; undefined for a malformed id. */
  attemptOf: (id: string) => {
    const parsed = numbered('atmpt_', id);
    return parsed && { webhookId: `ewh_${parsed.ksuid}`, attemptId: parsed.n };
  },
};
