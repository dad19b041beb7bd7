/**
 * The headers every response carries, and the Content-Security-Policy of pages and of
 * everything else. A board URL is a capability, so no response lets the browser send it
 * on (`Referrer-Policy: no-referrer`), and framing is decided on the route Next.js will
 * render, never on how the path was spelled.
 */
import crypto from 'node:crypto'
import type http from 'node:http'
import { parseLinkPath } from '../../lib/links'

/** A fresh script nonce: 128 random bits, per page response. */
export function newNonce(): string {
  return crypto.randomBytes(16).toString('base64')
}

/**
 * The CSP of a page. Scripts run only with this response's nonce (Next.js puts it on its
 * own scripts, and 'strict-dynamic' lets them load their chunks); everything else comes
 * from this origin. The allowances beyond that, each found by running a board, a view page,
 * an embed and the Share dialog in Chromium under this policy (test/e2e/csp.test.ts):
 * - `img-src data: blob:`: tldraw's cursors are `data:` SVGs, its icons and a pasted
 *   image's preview are `blob:` URLs.
 * - `font-src data:`: an export (copy as PNG/SVG) inlines the board's fonts as `data:`.
 * - `style-src 'unsafe-inline'`: `<style>` elements inserted at run time by React 19
 *   (hoisted styles), tiptap (tldraw's text editor), react-remove-scroll (dialogs) and
 *   tldraw's export; they carry no nonce we could give them. No off-origin load is
 *   allowed, so injected CSS has nowhere to send anything.
 * Nothing needs `unsafe-eval` or a worker, and nothing comes from another host.
 */
export function pagePolicy(nonce: string, frameAncestors: string, publicOrigin: string | null = null): string {
  // CSP3 lets 'self' match the page's own ws:/wss: origin; older WebKit does not, so name it.
  const socket = publicOrigin ? ` ${publicOrigin.replace(/^http/, 'ws')}` : ''
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${socket}`,
    "worker-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')
}

/** The CSP of everything that is not a page (JSON, images, metrics): it may load nothing and run nothing. */
export function apiPolicy(frameAncestors: string): string {
  return ["default-src 'none'", "base-uri 'none'", "form-action 'none'", `frame-ancestors ${frameAncestors}`].join('; ')
}

/** Headers of every response. */
export function setCommonHeaders(res: http.ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'no-referrer')
}

/** The app's embed routes: `app/embed/[roomId]`, `app/embed/v/[token]`, `app/embed/e/[token]`. */
const EMBED_ROUTE = /^\/embed\/(?:[ve]\/)?[^/]+$/

/**
 * The path of a request as Next.js will route it, or null when that is not its spelling.
 * Next.js resolves dot segments (`%2e%2e` too), turns backslashes into slashes and decodes
 * escapes before it matches a route, so only a path those leave unchanged can be judged by
 * how it looks: `/embed/%2e%2e/b/<id>` renders the board page.
 */
function plainPath(url: string): string | null {
  const raw = url.split('?')[0]!
  try {
    return new URL(url, 'http://internal').pathname === raw && !raw.includes('%') ? raw : null
  } catch {
    return null
  }
}

/** Whether Next.js will render an embed page for this request (whatever it then shows). */
export function isEmbedRoute(url: string): boolean {
  const path = plainPath(url)
  return path !== null && EMBED_ROUTE.test(path)
}

/** The CSP frame-ancestors sources for a request: `EMBED_ORIGINS` for embed pages, else only ourselves. */
export function framingOf(url: string, embedOrigins: string[]): string {
  return isEmbedRoute(url) ? embedOrigins.join(' ') : "'self'"
}

/**
 * A path fit for a log line. Board links carry capabilities (room ids, tokens), and a
 * path can be spelled so that Next.js renders a board however it looks (`/x/%2e%2e/b/<id>`):
 * a board route is logged as its pattern, anything else as its first segment only.
 *
 * @example
 * routeOf('/embed/v/<token>?ui=0') // '/embed/v/:token'
 */
export function routeOf(url: string): string {
  const path = plainPath(url)
  const link = path === null ? null : parseLinkPath(path)
  const embed = path?.startsWith('/embed/') ? '/embed' : ''
  if (link?.kind === 'room') return `${embed || '/b'}/:roomId`
  if (link?.kind === 'token') return `${embed}/${link.page === 'view' ? 'v' : 'e'}/:token`
  const raw = url.split('?')[0]!
  const first = /^\/([A-Za-z0-9_.-]*)/.exec(raw)?.[1] ?? ''
  return KNOWN_SEGMENTS.has(first) ? `/${first}${raw.length > first.length + 1 ? '/…' : ''}` : '/…'
}

/** First path segments that are no capability: the app's own routes and files. */
const KNOWN_SEGMENTS = new Set(['', '_next', 'tldraw-assets', 'api', 'icon.svg', 'favicon.ico', 'b', 'v', 'e', 'embed'])
