/**
 * Who is asking, and from where: the client's address, the app's public origin for a
 * request, and which browser origins may open the WebSocket. Every rule that reads
 * `TRUST_PROXY`, `PUBLIC_URL` or `ALLOWED_ORIGINS` lives here, so the HTTP API, the
 * upgrade and the pages (through `PUBLIC_ORIGIN_HEADER`) agree.
 */
import type http from 'node:http'
import { isIP } from 'node:net'

export interface AddressRules {
  /**
   * `TRUST_PROXY`: how many reverse proxies of ours stand between the clients and this
   * server (0: none, clients connect directly). Only the entries those proxies appended to
   * `X-Forwarded-For` / `X-Forwarded-Proto` count; anything to their left is the client's word.
   */
  proxyHops: number
  /** `PUBLIC_URL` */
  publicUrl?: string
  /** `ALLOWED_ORIGINS`, as origins; undefined: the default rule (see `originAllowed`). */
  allowedOrigins?: string[]
}

/**
 * The entry of a forwarded header that our own proxies vouch for: each proxy appends what
 * it saw, so with `hops` proxies it is the `hops`-th from the right. Fewer entries than
 * hops means our proxies replaced the header: its left-most entry is theirs too.
 */
function forwardedEntry(value: string | string[] | undefined, hops: number): string | undefined {
  if (hops === 0 || value === undefined) return undefined
  const entries = (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
  return entries[Math.max(0, entries.length - hops)]
}

/**
 * Whether a Host can be named in links and trusted as the page's own origin without being
 * configured: loopback names and IP literals, which no DNS rebinding can point elsewhere.
 */
export function isSelfEvidentHost(host: string): boolean {
  let hostname: string
  try {
    hostname = new URL(`http://${host}`).hostname
  } catch {
    return false
  }
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true
  return isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0
}

/** The Host of a request when it may appear in links: configured (ALLOWED_ORIGINS) or self-evident. */
function trustedHost(host: string | undefined, rules: AddressRules): string | null {
  if (!host) return null
  if (isSelfEvidentHost(host)) return host
  return rules.allowedOrigins?.some((origin) => new URL(origin).host === host) ? host : null
}

/**
 * `scheme://host` of the app as the browser addresses it: `PUBLIC_URL`'s origin when set;
 * else the request's Host when it is trusted (see `trustedHost`), with `https` when the
 * connection was encrypted or our proxy says so; else null, and no link names it.
 *
 * @example
 * requestOrigin(req, { proxyHops: 0 }) // 'http://127.0.0.1:3000'; null for Host: evil.example
 */
export function requestOrigin(req: http.IncomingMessage, rules: AddressRules): string | null {
  if (rules.publicUrl) return new URL(rules.publicUrl).origin
  const host = trustedHost(req.headers.host, rules)
  if (!host) return null
  const forwarded = forwardedEntry(req.headers['x-forwarded-proto'], rules.proxyHops)
  const encrypted = 'encrypted' in req.socket && Boolean(req.socket.encrypted)
  const proto = forwarded === 'https' || (!forwarded && encrypted) ? 'https' : 'http'
  return `${proto}://${host}`
}

/**
 * The client's address. Behind `TRUST_PROXY` proxies, the `X-Forwarded-For` entry the
 * outermost of them appended (the address it saw), never one the client wrote itself.
 */
export function clientAddress(req: http.IncomingMessage, rules: Pick<AddressRules, 'proxyHops'>): string {
  return forwardedEntry(req.headers['x-forwarded-for'], rules.proxyHops) ?? req.socket.remoteAddress ?? 'unknown'
}

/**
 * Whether a browser page on `origin` may open the WebSocket (cross-site WebSocket
 * hijacking, DNS rebinding). `ALLOWED_ORIGINS` when set; else `PUBLIC_URL`'s origin; else
 * a page of the host the request came to, if that host is loopback or an IP literal: a
 * domain name could be the attacker's, pointed at this server by DNS rebinding.
 */
export function originAllowed(origin: string, host: string | undefined, rules: AddressRules): boolean {
  if (rules.allowedOrigins) return rules.allowedOrigins.includes(origin)
  if (rules.publicUrl) return origin === new URL(rules.publicUrl).origin
  try {
    return host !== undefined && new URL(origin).host === host && isSelfEvidentHost(host)
  } catch {
    return false
  }
}

/** The origin rule in words, for the start-up log. */
export function describeOriginRule(rules: AddressRules): string {
  if (rules.allowedOrigins) return `browser pages on ${rules.allowedOrigins.join(', ')} may open the WebSocket (ALLOWED_ORIGINS)`
  if (rules.publicUrl) return `browser pages on ${new URL(rules.publicUrl).origin} may open the WebSocket (PUBLIC_URL)`
  return (
    'PUBLIC_URL and ALLOWED_ORIGINS are unset: browser pages may open the WebSocket only when this server is ' +
    'addressed as localhost or by an IP address (a domain name could be DNS rebinding); set PUBLIC_URL to serve boards on a domain'
  )
}
