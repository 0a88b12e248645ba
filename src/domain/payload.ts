import { isUtf8 } from 'node:buffer';

/**
 * A webhook body's JSON text, when the body is JSON: valid UTF-8, not blank,
 * and parsed by JSON.parse. undefined for any other body, which the APIs
 * show as a string instead. One rule for every API that shows payloads.
 */
export function jsonText(body: Buffer | null): string | undefined {
  if (body === null || !isUtf8(body)) return undefined;
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}
