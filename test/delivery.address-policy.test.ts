import { describe, expect, it } from 'vitest';
import { isRefusedAddress } from '../src/delivery/address-policy.js';

describe('address policy', () => {
  it.each([
    // IPv4 special-purpose ranges.
    ['0.0.0.0', 'unspecified / this network'],
    ['10.0.0.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.10', 'documentation TEST-NET-1'],
    ['192.88.99.1', '6to4 relay anycast'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.51.100.7', 'documentation TEST-NET-2'],
    ['203.0.113.9', 'documentation TEST-NET-3'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv6 ranges.
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback, uncompressed'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local with a zone'],
    ['fec0::1', 'deprecated site-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation (RFC 9637)'],
    ['2001:2::1', 'benchmarking'],
    ['100::1', 'discard-only'],
    ['2001::1', 'Teredo'],
    ['2001:0:4136:e378:8000:63bf:3f57:fdf2', 'Teredo, obfuscated public IPv4'],
    ['64:ff9b:1::808:808', 'local-use NAT64, whatever it embeds'],
    // IPv6 forms that embed a private IPv4 address.
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
    ['::ffff:0:a00:1', 'IPv4-translated private'],
    ['0:0:0:0:0:ffff:127.0.0.1', 'IPv4-mapped loopback, uncompressed'],
    ['::FFFF:A00:1', 'IPv4-mapped private, upper case'],
    ['::7f00:1', 'IPv4-compatible loopback'],
    ['::10.0.0.1', 'IPv4-compatible private, dotted'],
    ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
    ['64:ff9b::169.254.169.254', 'NAT64 of the metadata address, dotted'],
    ['2002:7f00:1::1', '6to4 of 127.0.0.1'],
    ['2002:c0a8:101:5::1', '6to4 of 192.168.1.1'],
    ['2002:c000:20a::', '6to4 of a documentation address'],
  ])('refuses %s (%s)', (address) => {
    expect(isRefusedAddress(address)).toBe(true);
  });

  it.each([
    ['8.8.8.8', 'public IPv4'],
    ['1.1.1.1', 'public IPv4'],
    ['100.128.0.1', 'just past the shared range'],
    ['172.32.0.1', 'just past 172.16/12'],
    ['192.0.3.1', 'just past TEST-NET-1'],
    ['198.51.101.1', 'just past TEST-NET-2'],
    ['223.255.255.255', 'just below multicast'],
    ['2606:4700:4700::1111', 'public IPv6'],
    ['2001:4860:4860::8888', 'public IPv6'],
    ['2001:db9::1', 'just past the documentation range'],
    ['::ffff:8.8.8.8', 'IPv4-mapped public'],
    ['::ffff:0:808:808', 'IPv4-translated public'],
    ['::808:808', 'IPv4-compatible public'],
    ['64:ff9b::808:808', 'NAT64 of a public address'],
    ['2002:0808:0808::1', '6to4 of a public address'],
    ['example.com', 'a name: checked once resolved'],
    ['localhost', 'a name: checked once resolved'],
  ])('allows %s (%s)', (address) => {
    expect(isRefusedAddress(address)).toBe(false);
  });
});
