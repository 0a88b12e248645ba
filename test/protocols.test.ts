import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../src/protocols/klev/signature.js';
import { secretKey, sign, verify } from '../src/protocols/standard-webhooks/signature.js';

describe('Standard Webhooks signatures', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = Buffer.from('{"type":"invoice.paid"}');
  const now = Math.floor(Date.now() / 1000);

  it("signs as the official library signs, and verifies the library's signatures", () => {
    const library = new Webhook(secret);
    const ours = sign(secretKey(secret)!, 'msg_1', now, body);
    expect(ours).toBe(library.sign('msg_1', new Date(now * 1000), body.toString()));
    expect(() => library.verify(body.toString(), { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': ours })).not.toThrow();
    const theirs = library.sign('msg_2', new Date(now * 1000), body.toString());
    expect(verify({ id: 'msg_2', timestamp: String(now), signature: `v1,bogus ${theirs}`, key: secretKey(secret)!, body, nowSeconds: now })).toEqual({
      ok: true,
    });
  });

  it('refuses a stale timestamp, a list without v1, and a wrong signature', () => {
    const key = secretKey(secret)!;
    const signature = sign(key, 'msg_1', now, body);
    expect(verify({ id: 'msg_1', timestamp: String(now - 301), signature, key, body, nowSeconds: now })).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verify({ id: 'msg_1', timestamp: String(now), signature: 'v2,abc', key, body, nowSeconds: now })).toEqual({
      ok: false,
      reason: 'malformed_signature',
    });
    expect(verify({ id: 'msg_9', timestamp: String(now), signature, key, body, nowSeconds: now })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('takes secrets with or without whsec_ and padding, and refuses others', () => {
    expect(secretKey('whsec_c2VjcmV0')).toEqual(Buffer.from('secret'));
    expect(secretKey('c2VjcmV0')).toEqual(Buffer.from('secret'));
    expect(secretKey('whsec_not base64!')).toBeUndefined();
    expect(secretKey('whsec_')).toBeUndefined();
  });
});

describe('X-Klev-Signature', () => {
  it('signs once per valid secret, and each secret alone verifies it', () => {
    const body = Buffer.from('hello');
    const header = signatureHeader(['new', 'old'], 1_700_000_000, body);
    expect(header).toMatch(/^t=1700000000;v1=[0-9a-f]{64};v1=[0-9a-f]{64}$/);
    expect(verifySignature(header, 'old', body, 1_700_000_010, 300)).toEqual({ ok: true });
    expect(verifySignature(header, 'other', body, 1_700_000_010, 300).ok).toBe(false);
    expect(verifySignature(header, 'new', body, 1_700_001_000, 300)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });
});
