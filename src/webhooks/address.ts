import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { buildConnector } from 'undici';
import type { Config } from '../core/config.ts';

// Webhook receivers are URLs a service token holder chooses, so every delivery is a request this
// server makes on their behalf (SSRF). In production the receiver must have a public address: the
// URL is checked when an endpoint is added, and the address actually connected to at every
// delivery (DNS may point a name elsewhere after the check: DNS rebinding).

/** Production refuses receivers on private networks unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true. */
export function refusesPrivateReceivers(config: Pick<Config, 'isProduction' | 'webhookAllowPrivateNetworks'>): boolean {
  return config.isProduction && !config.webhookAllowPrivateNetworks;
}

/** What a delivery attempt records when the receiver's address is refused (a constant: no oracle). */
export const ADDRESS_NOT_PUBLIC = "the receiver's address is not public (refused in production)";

/** A delivery refused before connecting: the receiver's host is, or resolves to, a non-public address. */
export class AddressNotPublicError extends Error {
  readonly code = 'ERR_WEBHOOK_ADDRESS_NOT_PUBLIC';
  constructor() {
    super(ADDRESS_NOT_PUBLIC);
  }
}

// IPv4-compatible IPv6 (::a.b.c.d, deprecated): ipaddr.js files it under `unicast`, yet it embeds an
// IPv4 address and covers :: and ::1.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * An address on the public internet: ipaddr.js's `unicast`, after an IPv4-mapped IPv6 address is
 * read as the IPv4 address it maps. Everything else (loopback, private, link-local, CGNAT,
 * unique-local, multicast, reserved and documentation ranges, NAT64, 6to4, Teredo…) is not.
 */
export function isPublicAddress(address: string): boolean {
  if (isIP(address) === 0) return false;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return false;
  return parsed.range() === 'unicast';
}

// Names that never leave the machine or the local network (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal).
const LOCAL_NAME = /(^|\.)(localhost|local|internal|home\.arpa)$/;

/**
 * Whether a URL's host is known not to be public without resolving it: an address literal outside
 * the public ranges, or a local-only name. `url.hostname` is what WHATWG URL parsing made of the
 * host, so 2130706433, 0x7f000001 and 127.1 already read 127.0.0.1 here.
 */
export function isNonPublicHost(url: URL): boolean {
  const host = url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.+$/, '')
    .toLowerCase();
  if (isIP(host) !== 0) return !isPublicAddress(host);
  return LOCAL_NAME.test(host);
}

/**
 * Resolves like the system does, then refuses the connection when any address of the name is not
 * public. net/tls connect to the addresses this returns while keeping the name for SNI and the
 * certificate check.
 */
export function publicOnlyLookup(resolve: LookupFunction = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
      if (!addresses.every(isPublicAddress)) return callback(new AddressNotPublicError(), address, family);
      callback(null, address, family);
    });
  };
}

/**
 * The connector of the delivery agent. Refusing private receivers, it checks an address literal
 * itself (net connects to a literal without a lookup) and a name through `publicOnlyLookup`.
 */
export function receiverConnector(options: { refusePrivate: boolean; lookup?: LookupFunction }): buildConnector.connector {
  if (!options.refusePrivate) return buildConnector(options.lookup ? { lookup: options.lookup } : {});
  const connect = buildConnector({ lookup: publicOnlyLookup(options.lookup) });
  return (target, callback) => {
    if (isIP(target.hostname) !== 0 && !isPublicAddress(target.hostname)) {
      callback(new AddressNotPublicError(), null);
      return;
    }
    connect(target, callback);
  };
}
