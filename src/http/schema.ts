import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { type ErrorName, HooklogError } from '../domain/errors.js';
import { invalidId } from '../domain/ids.js';

/**
 * Request schemas, and how a request that fails one is answered. Every route
 * declares its params, query and body with these builders; Ajv checks them,
 * and a failure becomes the coded error the field's kind names, with the same
 * details text for every dialect: `metadata must be a string`, `log_id must
 * be 'log_' followed by a 27-character KSUID, got "x"`. The OpenAPI document
 * is generated from the same schemas.
 */

/** What a field is, for its error: stored under ANNOTATION on the field's schema. */
type FieldKind =
  | { kind: 'body' }
  | { kind: 'item' }
  | { kind: 'text' }
  | { kind: 'bytes' }
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number }
  | { kind: 'strings' }
  | { kind: 'array'; tooMany?: TooMany }
  | { kind: 'id'; prefix: string }
  | { kind: 'choice'; values: readonly string[]; error: ErrorName }
  | { kind: 'query' }
  | { kind: 'headers'; maxProperties: number };

/** How a dialect answers an array over its maxItems: its error, and details where {count} and {max} are filled in. */
export interface TooMany {
  maxItems: number;
  error: ErrorName;
  details: string;
}

const ANNOTATION = 'x-hooklog';
/** Text is stored as text, where NUL is refused by PostgreSQL: refused here on every backend alike. */
const NO_NUL = '^[^\\u0000]*$';

const annotated = (field: FieldKind) => ({ [ANNOTATION]: field });

export const field = {
  text: (description?: string) => Type.String({ pattern: NO_NUL, ...annotated({ kind: 'text' }), ...(description && { description }) }),
  /** A key or value: text under the message's encoding, or null for nil. */
  bytes: (description?: string) => Type.Union([Type.String(), Type.Null()], { ...annotated({ kind: 'bytes' }), ...(description && { description }) }),
  boolean: (description?: string) => Type.Boolean({ ...annotated({ kind: 'boolean' }), ...(description && { description }) }),
  integer: (min: number, description?: string) =>
    Type.Integer({ minimum: min, maximum: Number.MAX_SAFE_INTEGER, ...annotated({ kind: 'integer', min }), ...(description && { description }) }),
  strings: (description?: string) =>
    Type.Union([Type.Array(Type.String({ pattern: NO_NUL, ...annotated({ kind: 'strings' }) })), Type.Null()], {
      ...annotated({ kind: 'strings' }),
      ...(description && { description }),
    }),
  id: (prefix: string, description?: string) =>
    Type.String({ pattern: `^${prefix}_[0-9A-Za-z]{27}$`, ...annotated({ kind: 'id', prefix }), ...(description && { description }) }),
  /**
   * One of `values`, or, when `blank` is set, '' or null meaning the default;
   * anything else fails with `error`: `encoding must be 'string' or 'base64', got "x"`.
   */
  choice: (values: readonly string[], options: { error: ErrorName; blank?: boolean; description?: string }) =>
    Type.Union([...values.map((value) => Type.Literal(value)), ...(options.blank ? [Type.Literal(''), Type.Null()] : [])], {
      ...annotated({ kind: 'choice', values, error: options.error }),
      ...(options.description && { description: options.description }),
    }),
  /** A JSON object of exactly these fields: an unknown one is refused, naming it. */
  object: <P extends Record<string, TSchema>>(properties: P, kind: 'body' | 'item' = 'body') =>
    Type.Object(properties, { additionalProperties: false, ...annotated({ kind }) }),
  array: <T extends TSchema>(items: T, options: { tooMany?: TooMany; description?: string } = {}) =>
    Type.Array(items, {
      ...(options.tooMany && { maxItems: options.tooMany.maxItems }),
      ...(options.description && { description: options.description }),
      ...annotated({ kind: 'array', ...(options.tooMany && { tooMany: options.tooMany }) }),
    }),
  /** HTTP headers by name, as a JSON object of strings; the names and values are the handler's to check. */
  headers: (maxProperties: number, description: string) => {
    const kind = annotated({ kind: 'headers', maxProperties });
    return Type.Record(Type.String(), Type.String(kind), { maxProperties, ...kind, description });
  },
  /** A query parameter: given once, as text. Its meaning is the handler's to check. */
  query: (description: string) => Type.String({ pattern: NO_NUL, ...annotated({ kind: 'query' }), description }),
  /** A query parameter holding bytes (a key), where NUL is data. */
  queryBytes: (description: string) => Type.String({ ...annotated({ kind: 'query' }), description }),
};

type Part = 'body' | 'params' | 'querystring' | 'headers';

/**
 * Ajv as hooklog uses it: no coercion, no defaults, unknown fields kept (and
 * refused), the failing data reported. All errors are collected so that the
 * one answered is the first in the order the fields are declared, not in
 * Ajv's order of keywords: an unknown field is named before a missing one.
 */
const ajv = new Ajv({ allErrors: true, verbose: true, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });
// An annotation: Ajv keeps it on the schema and checks nothing by it.
ajv.addKeyword(ANNOTATION);

/** Fastify's validator compiler: Ajv, answering a failure with the coded error of the field that failed first. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validate: ValidateFunction = ajv.compile(schema);
  const part = httpPart as Part;
  return (data: unknown) => (validate(data) ? { value: data } : { error: errorOf(first(schema, validate.errors ?? []), part) });
};

/**
 * The error a reader of the schema meets first: at each object, unknown
 * fields before declared ones, and those in declaration order; at each
 * array, items in order. Among errors of one field (a union's branches and
 * the union), the annotated schema speaks.
 */
function first(schema: TSchema, errors: ErrorObject[]): ErrorObject {
  const ranked = errors.map((error) => ({ error, rank: rankOf(schema, error), speaks: kindOf(error.parentSchema) !== undefined }));
  ranked.sort((a, b) => compareRanks(a.rank, b.rank) || Number(b.speaks) - Number(a.speaks));
  return ranked[0]!.error;
}

function rankOf(root: TSchema, error: ErrorObject): number[] {
  const rank: number[] = [];
  const instance = error.instancePath.split('/').slice(1);
  let schema = root as Record<string, unknown>;
  const path = error.schemaPath.split('/').slice(1);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const properties = schema.properties as Record<string, unknown> | undefined;
    if (segment === 'properties' && properties && i + 1 < path.length) {
      const name = decodeURIComponent(path[++i]!);
      rank.push(Object.keys(properties).indexOf(name));
      instance.shift();
      schema = properties[name] as Record<string, unknown>;
    } else if (segment === 'items') {
      rank.push(Number(instance.shift()));
      schema = schema.items as Record<string, unknown>;
    } else if (segment === 'additionalProperties') {
      rank.push(-1);
    } else if (segment === 'required' && properties) {
      rank.push(Object.keys(properties).indexOf((error.params as { missingProperty: string }).missingProperty));
    } else if (typeof schema[segment] === 'object' && schema[segment] !== null) {
      // anyOf/0 and the like: the same field.
      schema = schema[segment] as Record<string, unknown>;
    }
  }
  return rank;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** An error as the coded error its field's kind names. */
function errorOf(speaking: ErrorObject, part: Part): HooklogError {
  const segments = speaking.instancePath.split('/').slice(1);
  if (speaking.keyword === 'required' || speaking.keyword === 'additionalProperties') {
    const object = kindOf(speaking.parentSchema)?.kind === 'item' ? itemName(segments) : 'the request body';
    if (speaking.keyword === 'additionalProperties') {
      const known = Object.keys((speaking.parentSchema as { properties: object }).properties);
      const name = (speaking.params as { additionalProperty: string }).additionalProperty;
      return new HooklogError('field_invalid', `unknown field ${JSON.stringify(name)} in ${object}; known fields: ${known.join(', ')}`);
    }
    const missing = (speaking.params as { missingProperty: string }).missingProperty;
    const schema = (speaking.parentSchema as { properties: Record<string, unknown> }).properties[missing];
    return fieldError(kindOf(schema), missing, undefined, part, true);
  }
  const name = segments.filter((segment) => !/^\d+$/.test(segment)).at(-1) ?? '';
  const kind = kindOf(speaking.parentSchema);
  if (kind?.kind === 'body') return new HooklogError('field_invalid', 'the request body must be a JSON object');
  if (kind?.kind === 'item') return new HooklogError('field_invalid', `${itemName(segments)} must be a JSON object`);
  return fieldError(kind, name, speaking.data, part, false, speaking.keyword);
}

function fieldError(kind: FieldKind | undefined, name: string, value: unknown, part: Part, missing: boolean, keyword?: string): HooklogError {
  const nul = keyword === 'pattern' && typeof value === 'string' && value.includes('\0');
  const error = (errorName: ErrorName, details: string) => new HooklogError(errorName, details);
  switch (kind?.kind) {
    case 'id':
      if (keyword === 'type' && part === 'body') return error('field_invalid', `${name} must be a string`);
      return invalidId(kind.prefix, name, value);
    case 'query':
      if (Array.isArray(value)) return error('query_param_invalid', `${name} is given more than once`);
      return error('query_param_invalid', `${name} must not contain NUL characters`);
    case 'choice':
      return error(kind.error, `${name} must be ${kind.values.map((choice) => `'${choice}'`).join(' or ')}, got ${JSON.stringify(value)}`);
    case 'text':
      if (missing) return error('field_invalid', `${name} is required`);
      return error('field_invalid', nul ? `${name} must not contain NUL characters` : `${name} must be a string`);
    case 'bytes':
      return error('field_invalid', `${name} must be a string or null`);
    case 'headers':
      return error('field_invalid', `headers must be a JSON object of at most ${kind.maxProperties} header names, each with a string value`);
    case 'boolean':
      return error('field_invalid', `${name} must be true or false`);
    case 'integer':
      return error('field_invalid', missing ? `${name} is required` : `${name} must be a whole number >= ${kind.min}`);
    case 'strings':
      return error('field_invalid', nul ? `${name} must not contain NUL characters` : `${name} must be an array of strings`);
    case 'array':
      if (kind.tooMany && Array.isArray(value) && value.length > kind.tooMany.maxItems) {
        const { error: tooMany, details, maxItems } = kind.tooMany;
        return error(tooMany, details.replace('{count}', String(value.length)).replace('{max}', String(maxItems)));
      }
      return error('field_invalid', `${name} must be an array`);
    default:
      return error(part === 'querystring' ? 'query_param_invalid' : 'field_invalid', `${name || 'the request'} is invalid`);
  }
}

function kindOf(schema: unknown): FieldKind | undefined {
  return typeof schema === 'object' && schema !== null ? ((schema as Record<string, unknown>)[ANNOTATION] as FieldKind | undefined) : undefined;
}

/** `messages[3]` for the path /messages/3. */
function itemName(segments: string[]): string {
  return segments.map((segment, i) => (/^\d+$/.test(segment) ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}
