/**
 * Every HTTP request, in order: `/healthz`, `/metrics`, the sharing API, assets, then the
 * Next.js app (when this process serves it). Every response carries the security headers
 * of `securityHeaders.ts`: pages a Content-Security-Policy with a fresh script nonce (told
 * to Next.js through the request's own CSP header, which it reads the nonce from), and
 * everything else a policy that loads nothing.
 */
import type http from 'node:http'
import type { Logger } from 'pino'
import { BOARD_PREVIEW_HEADER, BOARD_TITLE_HEADER, PUBLIC_ORIGIN_HEADER } from '../../lib/links'
import type { BoardPreviewInfo } from './previews'
import { apiPolicy, framingOf, newNonce, pagePolicy, routeOf, setCommonHeaders } from './securityHeaders'

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
  /**
   * What a board page (`/b/…`, `/e/…`, `/v/…`) may say about its board in its Open Graph
   * tags, handed to Next.js in request headers; null for other paths.
   */
  boardPage?: (pathname: string) => Promise<BoardPreviewInfo | null>
  /** The Next.js request handler; absent when this process is the sync server alone. */
  next?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>
}

/**
 * @example
 * http.createServer(createRouter({ log, embedOrigins: ['*'], health, metrics, api: [accessApi, assets], publicOrigin }))
 */
export function createRouter(options: RouterOptions): Handler {
  const { log, next } = options
  return (req, res) => {
    const url = req.url ?? '/'
    const pathname = url.split('?')[0]!
    const frameAncestors = framingOf(url, options.embedOrigins)
    setCommonHeaders(res)
    // What is not a page loads nothing.
    res.setHeader('Content-Security-Policy', apiPolicy(frameAncestors))
    if (pathname === '/healthz') {
      const health = options.health()
      res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(health))
      return
    }
    if (pathname === '/metrics') return options.metrics(res)
    for (const handler of options.api) if (handler(req, res)) return
    if (!next) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this is the sync server alone\n')
      return
    }
    const origin = options.publicOrigin(req)
    const policy = pagePolicy(newNonce(), frameAncestors, origin)
    res.setHeader('Content-Security-Policy', policy)
    // Next.js takes the nonce for its scripts from the request's CSP: ours, never the client's.
    req.headers['content-security-policy'] = policy
    delete req.headers['content-security-policy-report-only']
    if (origin) req.headers[PUBLIC_ORIGIN_HEADER] = origin
    else delete req.headers[PUBLIC_ORIGIN_HEADER]
    // Only the server says what a page may tell of its board.
    delete req.headers[BOARD_TITLE_HEADER]
    delete req.headers[BOARD_PREVIEW_HEADER]
    const board = options.boardPage && /^\/[bev]\/[^/]+$/.test(pathname) ? options.boardPage(pathname) : Promise.resolve(null)
    board
      .catch((err: unknown) => {
        // A page without its card is still the page.
        log.warn({ err, route: routeOf(url) }, 'could not read the board for its page')
        return null
      })
      .then((info) => {
        if (info) {
          req.headers[BOARD_TITLE_HEADER] = encodeURIComponent(info.title)
          if (info.preview)
            req.headers[BOARD_PREVIEW_HEADER] = JSON.stringify({
              path: info.preview.path,
              width: info.preview.width,
              height: info.preview.height,
            })
        }
        return next(req, res)
      })
      .catch((err: unknown) => {
        log.error({ err, route: routeOf(url) }, 'request failed')
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
  }
}
