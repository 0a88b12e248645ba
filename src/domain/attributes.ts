import { fail } from './errors.js';
import type { MessageAttributes } from './types.js';

/**
 * What message attributes may hold. The limits are Svix's, from MessageIn in
 * its OpenAPI document, so that a message published through one dialect can
 * be shown through another:
 * - event type: at most 256 letters, digits, `-`, `_` and `.`; hooklog also
 *   allows `/`, since Shopify names its topics `orders/create`;
 * - event id: 1 to 256 of the same characters, without `/`;
 * - channels and tags: at most 5 each, no two alike, each 1 to 128 of the
 *   same characters, without `/`.
 */
export const MAX_EVENT_TYPE_LENGTH = 256;
export const MAX_EVENT_ID_LENGTH = 256;
export const MAX_LABELS = 5;
export const MAX_LABEL_LENGTH = 128;

const EVENT_TYPE = /^[a-zA-Z0-9\-_./]+$/;
const NAME = /^[a-zA-Z0-9\-_.]+$/;

const fits = (text: string, pattern: RegExp, maxLength: number) => text.length <= maxLength && pattern.test(text);

/** Whether `text` may be an event type: also what a destination's filter may name. */
export const isEventType = (text: string): boolean => fits(text, EVENT_TYPE, MAX_EVENT_TYPE_LENGTH);
export const isEventId = (text: string): boolean => fits(text, NAME, MAX_EVENT_ID_LENGTH);
/** Whether `text` may be a channel or a tag. */
export const isLabel = (text: string): boolean => fits(text, NAME, MAX_LABEL_LENGTH);

/** The rules above, in the words error details use. */
export const EVENT_TYPE_RULE = `1 to ${MAX_EVENT_TYPE_LENGTH} letters, digits, '-', '_', '.' or '/'`;
export const EVENT_ID_RULE = `1 to ${MAX_EVENT_ID_LENGTH} letters, digits, '-', '_' or '.'`;
export const LABEL_RULE = `1 to ${MAX_LABEL_LENGTH} letters, digits, '-', '_' or '.'`;

/** Attributes as a publisher gives them: null, or an empty list, means absent. */
export interface AttributeFields {
  eventType?: string | null;
  eventId?: string | null;
  channels?: readonly string[] | null;
  tags?: readonly string[] | null;
  destination?: string | null;
}

/** The attributes present among `fields`, or undefined when none is. Not checked: see `checkAttributes`. */
export function attributesOf(fields: AttributeFields): MessageAttributes | undefined {
  const attributes: MessageAttributes = {};
  if (fields.eventType != null) attributes.eventType = fields.eventType;
  if (fields.eventId != null) attributes.eventId = fields.eventId;
  if (fields.channels != null && fields.channels.length > 0) attributes.channels = [...fields.channels];
  if (fields.tags != null && fields.tags.length > 0) attributes.tags = [...fields.tags];
  if (fields.destination != null) attributes.destination = fields.destination;
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

/** Fails with `field_invalid` unless every attribute is within the limits; `of` names the message in the details. */
export function checkAttributes({ eventType, eventId, channels, tags }: MessageAttributes, of: string): void {
  if (eventType !== undefined && !isEventType(eventType)) fail('field_invalid', `the event type ${of} must be ${EVENT_TYPE_RULE}`);
  if (eventId !== undefined && !isEventId(eventId)) fail('field_invalid', `the event id ${of} must be ${EVENT_ID_RULE}`);
  checkLabels(channels, 'channels', of);
  checkLabels(tags, 'tags', of);
}

function checkLabels(labels: readonly string[] | undefined, name: string, of: string): void {
  if (labels === undefined) return;
  if (labels.length > MAX_LABELS) fail('field_invalid', `the ${name} ${of} are ${labels.length}; at most ${MAX_LABELS} are allowed`);
  labels.forEach((label, i) => {
    if (!isLabel(label)) fail('field_invalid', `each of the ${name} ${of} must be ${LABEL_RULE}, got ${shown(label)}`);
    if (labels.indexOf(label) !== i) fail('field_invalid', `the ${name} ${of} hold ${shown(label)} twice`);
  });
}

/** A label as error details quote it: a long one by its length only. */
const shown = (label: string) => (label.length <= MAX_LABEL_LENGTH ? JSON.stringify(label) : `${label.length} characters`);
