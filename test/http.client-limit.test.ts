import { describe, expect, it } from 'vitest';
import { clientOf } from '../src/http/client-limit.js';

describe('per-client cap: who a client is', () => {
  it('is the IPv4 address, also when the socket shows it IPv4-mapped', () => {
    expect(clientOf('203.0.113.7')).toBe('203.0.113.7');
    expect(clientOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientOf('::ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('is the /64 of an IPv6 address, so that one host cannot take a fresh address per request', () => {
    expect(clientOf('2001:db8:1:2::1')).toBe(clientOf('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(clientOf('2001:db8:1:2::1')).not.toBe(clientOf('2001:db8:1:3::1'));
    expect(clientOf('2001:DB8:1:2:0:0:0:1')).toBe(clientOf('2001:db8:1:2::1'));
  });
});
