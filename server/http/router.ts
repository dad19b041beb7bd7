/**
 * Every HTTP request, in order: `/healthz`, `/metrics`, the sharing API, assets, then the
 * Next.js app (when this process serves it). Every response says who may frame it.
 */
import type http from 'node:http'
import type { Logger } from 'pino'
import { PUBLIC_ORIGIN_HEADER } from '../../lib/links'

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void
/** A handler that may decline a request (returns false) so the next one gets it. */
export type MaybeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean

export interface RouterOptions {
  log: Logger
  /** CSP frame-ancestors sources for `/embed/*` pages (EMBED_ORIGINS). */
  embedOrigins: string[]
  health(): { status: string }
  metrics(res: http.ServerResponse): void
  /** The sharing API and assets, tried in order. */
  api: MaybeHandler[]
  /** The app's public origin for a request, handed to the pages; null when links may not name its Host. */
  publicOrigin(req: http.IncomingMessage): string | null
  /** The Next.js request handler; absent when this process is the sync server alone. */
  next?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>
}

/**
 * @example
 * http.createServer(createRouter({ log, embedOrigins: ['*'], health, metrics, api: [accessApi, assets], publicOrigin }))
 */
export function createRouter(options: RouterOptions): Handler {
  const frameAncestors = options.embedOrigins.join(' ')
  const { log, next } = options
  return (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!
    // Only embed pages may be framed by other sites; everything else only by ourselves.
    res.setHeader(
      'Content-Security-Policy',
      pathname.startsWith('/embed/') ? `frame-ancestors ${frameAncestors}` : "frame-ancestors 'self'",
    )
    if (pathname === '/healthz') {
      const health = options.health()
      res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(health))
      return
    }
    if (pathname === '/metrics') return options.metrics(res)
    for (const handler of options.api) if (handler(req, res)) return
    if (next) {
      const origin = options.publicOrigin(req)
      if (origin) req.headers[PUBLIC_ORIGIN_HEADER] = origin
      else delete req.headers[PUBLIC_ORIGIN_HEADER]
      next(req, res).catch((err: unknown) => {
        log.error({ err, route: routeOf(pathname) }, 'request failed')
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this is the sync server alone\n')
  }
}

/**
 * A path fit for a log line: board links carry capabilities (room ids, tokens), so the
 * segment after `/b/`, `/v/`, `/e/`, `/embed/…` or `/sync/` is replaced by `:id`.
 */
export function routeOf(pathname: string): string {
  return pathname.replace(/^\/(b|v|e|sync|embed\/v|embed\/e|embed)\/[^/]+/, '/$1/:id')
}
