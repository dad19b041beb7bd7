/**
 * Who is asking, and from where: the client's address, the app's public origin for a
 * request, and which browser origins may open the WebSocket. Every rule that reads
 * `TRUST_PROXY`, `PUBLIC_URL` or `ALLOWED_ORIGINS` lives here, so the HTTP API, the
 * upgrade and the pages (through `PUBLIC_ORIGIN_HEADER`) agree.
 */
import type http from 'node:http'
import { type HeadersLike, publicOrigin } from '../../lib/links'

export interface AddressRules {
  /** `TRUST_PROXY`: forwarded headers come from our own proxy, not the client. */
  trustProxy: boolean
  /** `PUBLIC_URL` */
  publicUrl?: string
  /** `ALLOWED_ORIGINS`, as origins; undefined: the default rule (see `originAllowed`). */
  allowedOrigins?: string[]
}

function headersOf(req: http.IncomingMessage): HeadersLike {
  return {
    get(name) {
      const value = req.headers[name]
      return (Array.isArray(value) ? value[0] : value) ?? null
    },
  }
}

/** `scheme://host` of the app as the browser addresses it. */
export function requestOrigin(req: http.IncomingMessage, rules: AddressRules): string {
  const encrypted = 'encrypted' in req.socket && Boolean(req.socket.encrypted)
  return publicOrigin({ publicUrl: rules.publicUrl, trustProxy: rules.trustProxy }, headersOf(req), encrypted)
}

/** The client's address; behind a trusted reverse proxy, the first X-Forwarded-For hop. */
export function clientAddress(req: http.IncomingMessage, rules: Pick<AddressRules, 'trustProxy'>): string {
  if (rules.trustProxy) {
    const forwarded = req.headers['x-forwarded-for']
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
    if (first) return first
  }
  return req.socket.remoteAddress ?? 'unknown'
}

/**
 * Whether a browser page on `origin` may open the WebSocket (cross-site WebSocket
 * hijacking). `ALLOWED_ORIGINS` when set; else `PUBLIC_URL`'s origin; else the host the
 * request came to (the app's own pages).
 */
export function originAllowed(origin: string, host: string | undefined, rules: AddressRules): boolean {
  if (rules.allowedOrigins) return rules.allowedOrigins.includes(origin)
  if (rules.publicUrl) return origin === new URL(rules.publicUrl).origin
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}
