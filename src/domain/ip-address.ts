import { isIP } from 'node:net';

/**
 * The bytes of an IP address: 4 for IPv4, 16 for IPv6, undefined for anything
 * else (a name). IPv6 has many spellings of one address (`::ffff:7f00:1`,
 * `0:0:0:0:0:ffff:127.0.0.1`, upper case, a zone), so policies compare
 * bytes, never text. Node has no public parser for this.
 */
export function addressBytes(text: string): Uint8Array | undefined {
  const family = isIP(text);
  if (family === 4) return Uint8Array.from(text.split('.'), Number);
  if (family === 6) return ipv6Bytes(text);
  return undefined;
}

/** `text` is valid IPv6 (isIP checked it): at most one `::`, groups of 1–4 hex digits, perhaps a dotted IPv4 last. */
function ipv6Bytes(text: string): Uint8Array {
  // A zone (fe80::1%eth0) names the interface, not a different address.
  const [head = '', tail] = text.replace(/%.*$/, '').split('::');
  const left = words(head);
  const right = tail === undefined ? [] : words(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** The 16-bit words of a colon-separated run; a dotted IPv4 address makes two. */
function words(run: string): number[] {
  if (run === '') return [];
  return run.split(':').flatMap((group) => {
    if (!group.includes('.')) return [parseInt(group, 16)];
    const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
    return [(a << 8) | b, (c << 8) | d];
  });
}
