// A webhook's way out (docs/webhooks.md): the SSRF guard over the addresses a URL reaches, the signature, and the POST to the address that was checked.
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Ranges a webhook may not reach unless allowed: loopback, link-local, private, shared, reserved, multicast. */
const PRIVATE_RANGES: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 3, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

/** `ADDRESS/BITS` or a bare address: the form of `--webhook-allow`. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', bits, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An address the guard let through: what the POST connects to. */
export interface CheckedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Refuses the addresses of PRIVATE_RANGES unless an allowed range (`--webhook-allow`) holds them.
 * net.BlockList matches IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) against the IPv4 ranges.
 */
export class WebhookGuard {
  readonly #blocked = new BlockList();
  readonly #allowed = new BlockList();

  constructor(allow: readonly string[] = []) {
    for (const [address, prefix, family] of PRIVATE_RANGES) this.#blocked.addSubnet(address, prefix, family);
    for (const text of allow) {
      const cidr = parseCidr(text);
      if (cidr === undefined) throw new TypeError(`not a CIDR range: ${JSON.stringify(text)} (e.g. 10.1.0.0/16 or ::1/128)`);
      this.#allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  /** Why `address` may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (!this.#blocked.check(address, family) || this.#allowed.check(address, family)) return undefined;
    return `${address} is a private, loopback or link-local address (allow it with --webhook-allow)`;
  }

  /** At submit: why a URL whose host is a literal address may not be reached; undefined for a host name. */
  literalRefusal(url: string): string | undefined {
    const host = hostOf(url);
    return isIP(host) === 0 ? undefined : this.refusal(host);
  }

  /** Before each attempt: every address the host resolves to is checked; the first is the one to connect to. */
  async resolve(url: string): Promise<CheckedAddress | { readonly refused: string }> {
    const host = hostOf(url);
    let addresses: Array<{ address: string; family: number }>;
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (err) {
      return { refused: `cannot resolve ${host}: ${(err as Error).message}` };
    }
    for (const { address } of addresses) {
      const why = this.refusal(address);
      if (why !== undefined) return { refused: `${host} resolves to ${why}` };
    }
    const first = addresses[0];
    if (first === undefined) return { refused: `${host} resolves to no address` };
    return { address: first.address, family: first.family === 6 ? 6 : 4 };
  }
}

function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** `t=<unix s>,v1=<hex HMAC-SHA256 over "<t>.<body>">`: the Ringpool-Signature header. */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface WebhookPost {
  readonly url: string;
  /** The checked address: the connection goes there, whatever the host resolves to by then. */
  readonly to: CheckedAddress;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

/** POSTs the body; resolves with the receiver's status (the answer's body is read and dropped), rejects on a network error or timeout. */
export function postWebhook(post: WebhookPost): Promise<number> {
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) (callback as unknown as (e: null, a: CheckedAddress[]) => void)(null, [post.to]);
    else callback(null, post.to.address, post.to.family);
  };
  const target = new URL(post.url);
  const options: RequestOptions = {
    method: 'POST',
    lookup: pinned,
    headers: { ...post.headers, 'content-length': String(Buffer.byteLength(post.body)) },
    timeout: post.timeoutMs,
    agent: false,
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${post.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(post.body);
  });
}
