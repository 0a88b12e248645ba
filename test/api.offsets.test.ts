import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('offsets API', () => {
  let s: TestServer;
  let logId: string;
  beforeEach(async () => {
    s = await startTestServer();
    logId = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  });
  afterEach(async () => {
    await s.close();
  });

  it('creates an offset at the end of the log (-1)', async () => {
    const res = await s.request('POST', '/offsets', { body: { log_id: logId, metadata: 'example offset metadata' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      offset_id: expect.stringMatching(/^off_[0-9A-Za-z]{27}$/),
      log_id: logId,
      metadata: 'example offset metadata',
      value: -1,
      value_metadata: '',
    });
  });

  it('gets, sets, lists and deletes', async () => {
    const offset = (await s.request('POST', '/offsets', { body: { log_id: logId, metadata: 'm' } })).body;
    const set = await s.request('POST', `/offset/${offset.offset_id}`, { body: { value: 10, value_metadata: 'important offset' } });
    expect(set.body).toEqual({ ...offset, value: 10, value_metadata: 'important offset' });
    expect((await s.request('GET', `/offset/${offset.offset_id}`)).body).toEqual(set.body);

    const otherLog = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const other = (await s.request('POST', '/offsets', { body: { log_id: otherLog, metadata: 'n' } })).body;
    expect((await s.request('GET', '/offsets')).body.offsets).toEqual([set.body, other]);
    expect((await s.request('GET', '/offsets', { query: { log_id: otherLog } })).body.offsets).toEqual([other]);
    expect((await s.request('GET', '/offsets', { query: { metadata: 'm' } })).body.offsets).toEqual([set.body]);

    expect((await s.request('DELETE', `/offset/${offset.offset_id}`)).body).toEqual(set.body);
    expect((await s.request('GET', `/offset/${offset.offset_id}`)).body.error).toBe('ERR_KLEV_API_0109');
  });

  it('refuses an offset for a log that does not exist', async () => {
    const res = await s.request('POST', '/offsets', { body: { log_id: `log_${'0'.repeat(27)}` } });
    expect(res).toMatchObject({ status: 404, body: { error: 'ERR_KLEV_API_0107' } });
    expect((await s.request('GET', '/offsets')).body.offsets).toEqual([]);
  });

  it('consuming with offset_id starts from the stored value', async () => {
    const offset = (await s.request('POST', '/offsets', { body: { log_id: logId } })).body;
    // -1: only what is published from now on.
    await s.request('POST', `/messages/${logId}`, { body: { messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] } });
    const atEnd = await s.request('GET', `/messages/${logId}`, { query: { offset_id: offset.offset_id } });
    expect(atEnd.body).toEqual({ next_offset: 3, encoding: 'string', messages: [] });

    await s.request('POST', `/offset/${offset.offset_id}`, { body: { value: 1 } });
    const fromOne = await s.request('GET', `/messages/${logId}`, { query: { offset_id: offset.offset_id } });
    expect(fromOne.body.messages.map((m: { value: string }) => m.value)).toEqual(['b', 'c']);
    expect(fromOne.body.next_offset).toBe(3);

    await s.request('POST', `/offset/${offset.offset_id}`, { body: { value: -2 } });
    const fromStart = await s.request('GET', `/messages/${logId}`, { query: { offset_id: offset.offset_id } });
    expect(fromStart.body.messages).toHaveLength(3);
  });

  it('refuses an offset_id of another log', async () => {
    const otherLog = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const offset = (await s.request('POST', '/offsets', { body: { log_id: otherLog } })).body;
    const res = await s.request('GET', `/messages/${logId}`, { query: { offset_id: offset.offset_id } });
    expect(res).toMatchObject({ status: 400, body: { error: 'ERR_KLEV_API_0112' } });
  });
});
