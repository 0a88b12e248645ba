import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestOptions, startTestServer, type TestServer } from './helpers/server.js';

/**
 * Every kind of bad input gets a 4xx with a stable code, and leaves stored
 * data exactly as it was.
 */
describe('bad input', () => {
  let s: TestServer;
  let log: string;
  let offset: string;
  let otherOffset: string;

  const snapshot = async () => ({
    logs: (await s.request('GET', '/logs')).body,
    tokens: (await s.request('GET', '/tokens')).body,
    offsets: (await s.request('GET', '/offsets')).body,
    messages: (await s.request('GET', `/messages/${log}`, { query: { offset: -2, len: 1000 } })).body,
  });

  beforeAll(async () => {
    s = await startTestServer({ maxBodyBytes: 4096 });
    log = (await s.request('POST', '/logs', { body: { metadata: 'target' } })).body.log_id;
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ key: 'k', value: 'v' }, { value: 'w' }] } });
    offset = (await s.request('POST', '/offsets', { body: { log_id: log } })).body.offset_id;
    const other = (await s.request('POST', '/logs', { body: { metadata: 'other' } })).body.log_id;
    otherOffset = (await s.request('POST', '/offsets', { body: { log_id: other } })).body.offset_id;
  });
  afterAll(async () => {
    await s.close();
  });

  const missingLog = `log_${'1'.repeat(27)}`;
  // Paths and options are functions: the ids they use exist only once beforeAll has run.
  const cases: Array<[string, string, () => string, () => RequestOptions, number, string]> = [
    ['malformed JSON', 'POST', () => `/messages/${log}`, () => ({ rawBody: '{"messages": [' }), 400, '0009'],
    ['JSON that is not an object', 'POST', () => `/messages/${log}`, () => ({ rawBody: '[1,2]' }), 400, '0102'],
    ['messages not an array', 'POST', () => `/messages/${log}`, () => ({ body: { messages: 'x' } }), 400, '0102'],
    ['messages missing', 'POST', () => `/messages/${log}`, () => ({ body: {} }), 400, '0102'],
    ['a message that is not an object', 'POST', () => `/messages/${log}`, () => ({ body: { messages: [{ value: 'ok' }, 5] } }), 400, '0102'],
    ['value of the wrong type', 'POST', () => `/message/${log}`, () => ({ body: { value: 5 } }), 400, '0102'],
    ['key of the wrong type', 'POST', () => `/messages/${log}`, () => ({ body: { messages: [{ value: 'ok' }, { key: {} }] } }), 400, '0102'],
    ['time negative', 'POST', () => `/message/${log}`, () => ({ body: { value: 'v', time: -1 } }), 400, '0102'],
    ['time not whole', 'POST', () => `/message/${log}`, () => ({ body: { value: 'v', time: 1.5 } }), 400, '0102'],
    ['time as a string', 'POST', () => `/message/${log}`, () => ({ body: { value: 'v', time: '5' } }), 400, '0102'],
    ['unknown encoding on publish', 'POST', () => `/message/${log}`, () => ({ body: { encoding: 'hex', value: 'aa' } }), 400, '0103'],
    ['unknown encoding on consume', 'GET', () => `/messages/${log}`, () => ({ query: { encoding: 'utf16' } }), 400, '0103'],
    ['invalid base64 value', 'POST', () => `/message/${log}`, () => ({ body: { encoding: 'base64', value: 'not base64!' } }), 400, '0104'],
    ['base64 with bad padding', 'POST', () => `/messages/${log}`, () => ({ body: { encoding: 'base64', messages: [{ value: 'YQ' }] } }), 400, '0104'],
    ['invalid base64 key lookup', 'POST', () => `/message/${log}/key`, () => ({ body: { encoding: 'base64', key: '***' } }), 400, '0104'],
    ['negative len', 'GET', () => `/messages/${log}`, () => ({ query: { len: -1 } }), 400, '0011'],
    ['zero len', 'GET', () => `/messages/${log}`, () => ({ query: { len: 0 } }), 400, '0011'],
    ['non-numeric len', 'GET', () => `/messages/${log}`, () => ({ query: { len: 'ten' } }), 400, '0011'],
    ['len too large', 'GET', () => `/messages/${log}`, () => ({ query: { len: 10_001 } }), 400, '0011'],
    ['negative poll', 'GET', () => `/messages/${log}`, () => ({ query: { poll: -5 } }), 400, '0025'],
    ['non-numeric poll', 'GET', () => `/messages/${log}`, () => ({ query: { poll: '1s' } }), 400, '0025'],
    ['offset below -2', 'GET', () => `/messages/${log}`, () => ({ query: { offset: -3 } }), 400, '0010'],
    ['non-numeric offset', 'GET', () => `/messages/${log}`, () => ({ query: { offset: 'start' } }), 400, '0010'],
    ['fractional offset', 'GET', () => `/message/${log}`, () => ({ query: { offset: '1.5' } }), 400, '0010'],
    ['both offset and offset_id', 'GET', () => `/messages/${log}`, () => ({ query: { offset: 0, offset_id: offset } }), 400, '0105'],
    ['offset_id of the wrong prefix', 'GET', () => `/messages/${log}`, () => ({ query: { offset_id: log } }), 400, '0106'],
    ['offset_id of another log', 'GET', () => `/messages/${log}`, () => ({ query: { offset_id: otherOffset } }), 400, '0112'],
    ['oversized body', 'POST', () => `/message/${log}`, () => ({ body: { value: 'x'.repeat(5000) } }), 413, '0101'],
    ['wrong content type', 'POST', () => `/message/${log}`, () => ({ rawBody: 'value=x', contentType: 'application/x-www-form-urlencoded' }), 415, '0001'],
    ['a text/plain body', 'POST', () => '/logs', () => ({ rawBody: '{"metadata":"x"}', contentType: 'text/plain' }), 415, '0001'],
    ['unknown log', 'POST', () => `/message/${missingLog}`, () => ({ body: { value: 'v' } }), 404, '0107'],
    ['unknown log on consume', 'GET', () => `/messages/${missingLog}`, () => ({}), 404, '0107'],
    ['unknown token', 'GET', () => `/token/tok_${'2'.repeat(27)}`, () => ({}), 404, '0108'],
    ['unknown offset', 'POST', () => `/offset/off_${'3'.repeat(27)}`, () => ({ body: { value: 1 } }), 404, '0109'],
    ['log id of the wrong prefix', 'POST', () => `/message/${offset}`, () => ({ body: { value: 'v' } }), 400, '0106'],
    ['malformed log id', 'GET', () => '/log/log_short', () => ({}), 400, '0106'],
    ['a path id over 2,048 characters', 'GET', () => `/log/${'a'.repeat(2049)}`, () => ({}), 414, '0129'],
    ['token id of the wrong prefix', 'DELETE', () => `/token/${log}`, () => ({}), 400, '0106'],
    ['offset id of the wrong prefix', 'DELETE', () => `/offset/${log}`, () => ({}), 400, '0106'],
    ['offset create with a log id of the wrong prefix', 'POST', () => '/offsets', () => ({ body: { log_id: offset } }), 400, '0106'],
    ['offset set without value', 'POST', () => `/offset/${offset}`, () => ({ body: { value_metadata: 'x' } }), 400, '0102'],
    ['offset set below -2', 'POST', () => `/offset/${offset}`, () => ({ body: { value: -3 } }), 400, '0102'],
    ['log with a negative setting', 'POST', () => '/logs', () => ({ body: { trim_bytes: -1 } }), 400, '0102'],
    ['log with compacting as a string', 'POST', () => '/logs', () => ({ body: { compacting: 'yes' } }), 400, '0102'],
    ['log with metadata as a number', 'POST', () => '/logs', () => ({ body: { metadata: 7 } }), 400, '0102'],
    ['token with acl as a string', 'POST', () => '/tokens', () => ({ body: { acl: 'logs' } }), 400, '0102'],
    ['repeated query parameter', 'GET', () => `/messages/${log}?len=1&len=2`, () => ({}), 400, '0114'],
    ['unknown path', 'GET', () => '/unknown_path', () => ({}), 404, '0005'],
    ['wrong method', 'PATCH', () => `/log/${log}`, () => ({ body: {} }), 405, '0006'],
  ];

  it.each(cases)('%s', async (_name, method, path, options, status, code) => {
    const before = await snapshot();
    const res = await s.request(method, path(), options());
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: `ERR_KLEV_API_${code}`, message: expect.any(String), details: expect.any(String) });
    expect(await snapshot()).toEqual(before);
  });

  it('the server still answers after all of them', async () => {
    expect((await s.request('GET', '/')).status).toBe(200);
  });
});
