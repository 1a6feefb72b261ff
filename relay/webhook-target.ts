// Where webhooks may be sent. A webhook URL is chosen by whoever can add one, and the relay
// POSTs to it from inside its own network: without a check, a URL could reach the cloud
// metadata service (credentials of the machine) or internal services.
//
// Never: link-local (169.254.0.0/16, fe80::/10; cloud metadata lives there), the metadata
// addresses that are elsewhere (Alibaba Cloud's 100.100.100.200, AWS's fd00:ec2::254),
// unspecified, multicast and broadcast. Loopback, private and shared ranges only when the
// relay is configured to allow them (a receiver on the same private network).
//
// The check is made on the address a request actually connects to (the DNS answer, in the
// socket's lookup), so a name that resolves to a refused address, or changes its answer
// after a first check, is refused too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Refused } from './errors.js';

function blockList(v4: string[], v6: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of v4) {
    const [net, prefix] = cidr.split('/');
    list.addSubnet(net as string, Number(prefix), 'ipv4');
  }
  for (const cidr of v6) {
    const [net, prefix] = cidr.split('/');
    list.addSubnet(net as string, Number(prefix), 'ipv6');
  }
  return list;
}

const NEVER = blockList(
  ['0.0.0.0/8', '169.254.0.0/16', '100.100.100.200/32', '224.0.0.0/4', '240.0.0.0/4'],
  ['::/128', 'fe80::/10', 'ff00::/8', 'fd00:ec2::254/128'],
);
const PRIVATE = blockList(
  ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '100.64.0.0/10'],
  ['::1/128', 'fc00::/7'],
);

/** Why a request must not go to `address` (an IP address), or null when it may. */
export function addressRefusal(address: string, allowPrivate: boolean): string | null {
  let ip = address.replace(/^\[|\]$/g, '');
  // An IPv4 address written as IPv6 (::ffff:169.254.169.254) is that IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1] as string;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (NEVER.check(ip, family)) return `${ip} is a link-local, metadata or reserved address`;
  if (!allowPrivate && PRIVATE.check(ip, family))
    return `${ip} is a loopback or private address (allowed only when the relay allows private networks)`;
  return null;
}

/** Checks a webhook URL as given (scheme; a literal address or localhost). Throws why not. */
export function checkWebhookUrl(url: string, allowPrivate: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Refused('invalid', `invalid webhook URL ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Refused('invalid', 'a webhook URL must be http:// or https://');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const refusal = isIP(host)
    ? addressRefusal(host, allowPrivate)
    : /^localhost$|\.localhost$/i.test(host)
      ? addressRefusal('127.0.0.1', allowPrivate)
      : null;
  if (refusal) throw new Refused('invalid', `webhook URL ${JSON.stringify(url)} refused: ${refusal}`);
  return parsed;
}

/** A socket lookup that resolves as usual and fails for addresses a webhook may not reach. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const refusal = addressRefusal(a.address, allowPrivate);
        if (refusal) return callback(new Error(`${hostname} resolves to ${refusal}`), '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}
