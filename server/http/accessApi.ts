/**
 * The small HTTP API behind sharing and embedding, answered by the Node server before
 * Next.js (it needs the link secret, which only the server holds):
 *
 *   POST /api/links {"roomId"}        → {"edit": "/b/<id>", "view": "/v/<token>"}
 *   POST /api/links/reset {"roomId"}  → {"edit", "view", "generation"}: every earlier link of the board stops working
 *   GET  /api/tokens/<token>          → {"mode", "expiresAt"}, 410 {"error"} (expired or reset) or 401 {"error"}
 *   GET  /api/oembed?url=…            → oEmbed "rich" JSON with the iframe, or 404 {"error"}
 */
import type http from 'node:http'
import { iframeSnippet } from '../../lib/links'
import { roomIdProblem } from '../../lib/roomId'
import type { BoardLinks } from './links'
import type { BoardPreviewInfo } from './previews'
import { readBody, sendJson as json } from './responses'
import { type Grant, TokenError } from './tokens'

export interface AccessApiOptions {
  links: BoardLinks
  /** Told that a board's links were reset: its open link connections are closed (here and on other instances). */
  linksReset(roomId: string, generation: number): void
  /** Told about failures that are the server's fault (the store). */
  onError?: (err: unknown) => void
  /** The app's public origin for a request (PUBLIC_URL, or its own trusted Host); null when no link may name it. */
  originOf(req: http.IncomingMessage): string | null
  /** A board's title and preview for oEmbed (the preview named by `viewToken` if given); absent without previews. */
  describe?(roomId: string, viewToken?: string): Promise<BoardPreviewInfo>
}

const MAX_BODY = 4096

/** Handles the request if it is one of ours; returns false to let others have it. */
export function handleAccessApi(req: http.IncomingMessage, res: http.ServerResponse, options: AccessApiOptions): boolean {
  const url = new URL(req.url ?? '/', 'http://internal')
  if (url.pathname === '/api/links' || url.pathname === '/api/links/reset') {
    if (req.method !== 'POST') return (json(res, 405, { error: 'use POST' }), true)
    const reset = url.pathname === '/api/links/reset'
    readBody(req, MAX_BODY).then(
      async (body) => {
        let roomId: unknown
        try {
          roomId = (JSON.parse(body) as { roomId?: unknown }).roomId
        } catch {
          return json(res, 400, { error: 'the body must be JSON: {"roomId": "…"}' })
        }
        const problem = typeof roomId === 'string' ? roomIdProblem(roomId) : 'roomId is missing'
        if (problem) return json(res, 400, { error: problem })
        const id = roomId as string
        try {
          const generation = reset ? await options.links.reset(id) : null
          if (generation !== null) options.linksReset(id, generation)
          const view = await options.links.sign({ roomId: id, mode: 'view', expiresAt: null })
          json(res, 200, { edit: `/b/${id}`, view: `/v/${view}`, ...(generation !== null ? { generation } : {}) })
        } catch (err) {
          options.onError?.(err)
          json(res, 503, {
            error: reset ? 'could not reset the links of this board; try again shortly' : 'could not make a link; try again shortly',
          })
        }
      },
      () => json(res, 413, { error: `the body must be at most ${MAX_BODY} bytes of JSON` }),
    )
    return true
  }
  if (url.pathname.startsWith('/api/tokens/')) {
    let token: string
    try {
      token = decodeURIComponent(url.pathname.slice('/api/tokens/'.length))
    } catch {
      return (json(res, 401, { error: 'this link is not valid' }), true)
    }
    options.links.verify(token).then(
      (grant) => json(res, 200, { mode: grant.mode, expiresAt: grant.expiresAt }),
      (err: unknown) => {
        if (!(err instanceof TokenError)) {
          options.onError?.(err)
          return json(res, 503, { error: 'could not check this link; try again shortly' })
        }
        // The status is what a page branches on (410: it worked once; 401: it never will);
        // `error` is the sentence to show.
        const once = err.problem === 'expired' || err.problem === 'revoked'
        json(res, once ? 410 : 401, { error: err.message })
      },
    )
    return true
  }
  if (url.pathname === '/api/oembed') {
    oembed(req, res, url, options).catch((err: unknown) => {
      options.onError?.(err)
      json(res, 503, { error: 'could not answer; try again shortly' })
    })
    return true
  }
  return false
}

async function oembed(req: http.IncomingMessage, res: http.ServerResponse, url: URL, options: AccessApiOptions): Promise<void> {
  const origin = options.originOf(req)
  const target = url.searchParams.get('url')
  if (!target) return json(res, 400, { error: 'url is required' })
  let page: URL
  try {
    page = new URL(target)
  } catch {
    return json(res, 404, { error: 'not a board link of this server' })
  }
  // A Host the origin rule does not trust is never named in a link: nothing is ours on it.
  if (!origin || page.origin !== origin) return json(res, 404, { error: 'not a board link of this server' })
  const format = url.searchParams.get('format')
  if (format && format !== 'json') return json(res, 501, { error: 'only format=json is supported' })
  let embedPath: string | null = null
  let grant: Grant | null = null
  let described: Promise<BoardPreviewInfo | null> = Promise.resolve(null)
  const board = /^\/b\/([^/]+)$/.exec(page.pathname)
  const view = /^\/v\/([^/]+)$/.exec(page.pathname)
  if (board && roomIdProblem(board[1]!) === null) {
    embedPath = `/embed/${board[1]}`
    if (options.describe) described = options.describe(board[1]!)
  }
  if (view) {
    try {
      grant = await options.links.verify(view[1]!)
      if (grant.mode === 'view') {
        embedPath = `/embed/v/${view[1]}`
        if (options.describe) described = options.describe(grant.roomId, view[1])
      }
    } catch (err) {
      if (!(err instanceof TokenError)) throw err
      embedPath = null
    }
  }
  if (!embedPath) return json(res, 404, { error: 'not a board link of this server' })
  const info = await described
  const clamp = (value: string | null, fallback: number) => {
    const n = Number(value)
    return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), fallback) : fallback
  }
  const width = clamp(url.searchParams.get('maxwidth'), 800)
  const height = clamp(url.searchParams.get('maxheight'), 600)
  const src = `${origin}${embedPath}`
  json(res, 200, {
    version: '1.0',
    type: 'rich',
    provider_name: 'sketchroom',
    provider_url: origin,
    title: info?.title || (grant ? 'sketchroom board (view only)' : 'sketchroom board'),
    width,
    height,
    html: iframeSnippet(src, { width, height }),
    // The preview is served by the board's view link: a thumbnail never reveals an edit link.
    ...(info?.preview
      ? { thumbnail_url: `${origin}${info.preview.path}`, thumbnail_width: info.preview.width, thumbnail_height: info.preview.height }
      : {}),
  })
}
