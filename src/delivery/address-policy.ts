import { type LookupAddress, type LookupAllOptions, lookup } from 'node:dns';
import { addressBytes } from '../domain/ip-address.js';

/** A CIDR block, as bytes. */
interface Range {
  network: Uint8Array;
  bits: number;
}

function range(cidr: string): Range {
  const [network = '', bits] = cidr.split('/');
  return { network: addressBytes(network)!, bits: Number(bits) };
}

const REFUSED_IPV4 = [
  '0.0.0.0/8', // "this network", unspecified
  '10.0.0.0/8', // private
  '100.64.0.0/10', // shared (carrier-grade NAT)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation (TEST-NET-1)
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation (TEST-NET-2)
  '203.0.113.0/24', // documentation (TEST-NET-3)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
].map(range);

const REFUSED_IPV6 = [
  '64:ff9b:1::/48', // local-use NAT64: translates into the operator's own network
  '100::/64', // discard-only
  '2001::/32', // Teredo: the IPv4 server and client it embeds are obfuscated
  '2001:2::/48', // benchmarking
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (RFC 9637)
  'fc00::/7', // unique-local
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated, still routed by some networks)
  'ff00::/8', // multicast
].map(range);

/**
 * IPv6 ranges whose addresses carry an IPv4 address, which the kernel or a
 * translator on the path may connect to: the IPv4 address decides.
 */
const EMBEDDING_IPV4 = [
  { range: range('::/96'), at: 12 }, // IPv4-compatible (deprecated); also :: and ::1, which fall in 0.0.0.0/8
  { range: range('::ffff:0:0/96'), at: 12 }, // IPv4-mapped
  { range: range('::ffff:0:0:0/96'), at: 12 }, // IPv4-translated (SIIT)
  { range: range('64:ff9b::/96'), at: 12 }, // NAT64, well-known prefix
  { range: range('2002::/16'), at: 2 }, // 6to4
];

function within(address: Uint8Array, { network, bits }: Range): boolean {
  if (address.length !== network.length) return false;
  for (let bit = 0; bit < bits; bit += 8) {
    const mask = (0xff << (8 - Math.min(8, bits - bit))) & 0xff;
    if ((address[bit / 8]! & mask) !== (network[bit / 8]! & mask)) return false;
  }
  return true;
}

function refusedIpv4(address: Uint8Array): boolean {
  return REFUSED_IPV4.some((refused) => within(address, refused));
}

function refusedIpv6(address: Uint8Array): boolean {
  const embedding = EMBEDDING_IPV4.find((entry) => within(address, entry.range));
  if (embedding) return refusedIpv4(address.subarray(embedding.at, embedding.at + 4));
  return REFUSED_IPV6.some((refused) => within(address, refused));
}

/**
 * Which addresses deliveries may reach. By default every special-purpose
 * address (loopback, private, link-local, shared, documentation, multicast,
 * reserved, unspecified…) is refused, so a webhook destination cannot be used
 * to probe the network hooklog runs in. The check runs on the resolved
 * address at connect time, which also defeats DNS rebinding (a name that
 * resolves to a public address when created and to a private one later).
 *
 * Takes an IP address in any spelling; a name is not refused here but once
 * resolved.
 */
export function isRefusedAddress(address: string): boolean {
  const bytes = addressBytes(address);
  if (!bytes) return false;
  return bytes.length === 4 ? refusedIpv4(bytes) : refusedIpv6(bytes);
}

/** The host of a URL (or of undici's connect target) as net.connect sees it: IPv6 literals lose their brackets. */
export function hostOf(url: { hostname: string }): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';
  constructor(address: string) {
    super(`refused to connect to private address ${address} (set HOOKLOG_ALLOW_PRIVATE_DESTINATIONS=true to allow)`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup for net.connect that fails when any resolved address is private. */
export function publicOnlyLookup(hostname: string, options: LookupAllOptions | object, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((entry) => isRefusedAddress(entry.address));
    if (refused) return callback(new PrivateAddressError(refused.address), []);
    if ((options as { all?: boolean }).all) return callback(null, addresses);
    const first = addresses[0]!;
    return callback(null, first.address, first.family);
  });
}
