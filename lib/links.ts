/**
 * The shapes of sketchroom's links, shared by pages, the Share dialog and tests.
 * A room id is the edit capability itself; a token (minted by the server) names a room
 * it does not reveal, a mode and maybe an expiry.
 *
 *   /b/<roomId>        edit                    /embed/<roomId>
 *   /v/<token>         view-only               /embed/v/<token>
 *   /e/<token>         edit, usually expiring  /embed/e/<token>
 */

import { isValidRoomId } from './roomId'

export type LinkMode = 'view' | 'edit'

/** What a board page connects with: a room id, or a token the server resolves. */
export type BoardLink =
  | { kind: 'room'; roomId: string }
  /** `page` is the route the token came in on (`/v/` or `/e/`). */
  | { kind: 'token'; token: string; page: LinkMode }

/**
 * A link token is `<payload>.<mac>`, both base64url; room ids never contain a dot. The one
 * outline both sides use: pages show a clear "link does not work" without a round trip,
 * and the server tells a token from a room id at the upgrade. Only the server can say
 * whether a token that fits is valid.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,600}\.[A-Za-z0-9_-]{16,64}$/

/** Why a link made before its board's "Reset links" no longer opens it (HTTP 410, close 4401). */
export const LINK_RESET_MESSAGE = 'this link was reset by someone who can edit the board; ask them for a new one'

/** Why a board in the trash does not open (HTTP 410, close 4410). */
export const BOARD_DELETED_MESSAGE = 'this board was deleted'

export function looksLikeToken(value: string): boolean {
  return TOKEN_PATTERN.test(value)
}

/** The name a board's WebSocket uses after `/sync/`: the room id or the token. */
export function syncName(link: BoardLink): string {
  return link.kind === 'room' ? link.roomId : link.token
}

/** The app page of a link: `/b/<roomId>`, `/v/<token>` or `/e/<token>`. */
export function pagePath(link: BoardLink): string {
  if (link.kind === 'room') return `/b/${link.roomId}`
  return `/${link.page === 'view' ? 'v' : 'e'}/${link.token}`
}

/** The chrome-less page of a link, for iframes. */
export function embedPath(link: BoardLink): string {
  if (link.kind === 'room') return `/embed/${link.roomId}`
  return `/embed/${link.page === 'view' ? 'v' : 'e'}/${link.token}`
}

/** Reads a page path back (`/b/…`, `/v/…`, `/e/…`, or their `/embed/…` forms). */
export function parseLinkPath(pathname: string): BoardLink | null {
  const parts = pathname.split('/').filter(Boolean)
  const embedded = parts[0] === 'embed'
  if (embedded) parts.shift()
  const [head, arg, ...rest] = parts
  if (head === undefined || rest.length) return null
  if (arg === undefined) return embedded && isValidRoomId(head) ? { kind: 'room', roomId: head } : null
  if (head === 'b' && !embedded && isValidRoomId(arg)) return { kind: 'room', roomId: arg }
  if ((head === 'v' || head === 'e') && looksLikeToken(arg)) return { kind: 'token', token: arg, page: head === 'v' ? 'view' : 'edit' }
  return null
}

// ---------------------------------------------------------------------------------------
// Embeds

/** Query options of `/embed/…` pages. */
export interface EmbedOptions {
  /** `readonly=1`: an edit link shown read-only (a view token is always read-only). */
  readonly: boolean
  /** `ui=0`: the canvas alone, no toolbars. */
  ui: boolean
  /** `zoom=fit`: zoom to the board's content once it has loaded. */
  zoomToFit: boolean
  /** `theme=light|dark`; null follows the viewer's own preference. */
  theme: 'light' | 'dark' | null
}

export const DEFAULT_EMBED_OPTIONS: EmbedOptions = { readonly: false, ui: true, zoomToFit: false, theme: null }

type SearchParamsLike = Record<string, string | string[] | undefined>

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

const TRUE_VALUES = new Set(['1', 'true', 'yes', 'on'])
const FALSE_VALUES = new Set(['0', 'false', 'no', 'off'])

/** Unknown values fall back to the defaults: an embed should render, not fail. */
export function parseEmbedOptions(params: SearchParamsLike): EmbedOptions {
  const readonly = first(params.readonly)
  const ui = first(params.ui)
  const theme = first(params.theme)
  return {
    readonly: readonly !== undefined && TRUE_VALUES.has(readonly),
    ui: !(ui !== undefined && FALSE_VALUES.has(ui)),
    zoomToFit: first(params.zoom) === 'fit',
    theme: theme === 'light' || theme === 'dark' ? theme : null,
  }
}

/** The query string for non-default options, `''` when there are none. */
export function embedQuery(options: Partial<EmbedOptions>): string {
  const params = new URLSearchParams()
  if (options.readonly) params.set('readonly', '1')
  if (options.ui === false) params.set('ui', '0')
  if (options.zoomToFit) params.set('zoom', 'fit')
  if (options.theme) params.set('theme', options.theme)
  const query = params.toString()
  return query ? `?${query}` : ''
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A ready-to-paste `<iframe>` for an absolute embed URL. */
export function iframeSnippet(src: string, opts: { width?: number; height?: number; title?: string } = {}): string {
  const { width = 800, height = 600, title = 'sketchroom board' } = opts
  return (
    `<iframe src="${escapeAttribute(src)}" width="${width}" height="${height}" ` +
    `title="${escapeAttribute(title)}" style="border:1px solid #ddd;border-radius:8px" ` +
    `allow="clipboard-read; clipboard-write; fullscreen" loading="lazy"></iframe>`
  )
}

// ---------------------------------------------------------------------------------------
// Absolute URLs

/**
 * The request header through which the server tells the Next.js pages their public
 * origin. The server sets it on every request the app gets (replacing any value a client
 * sent), or removes it when the request's Host may not be named in links (server/http/
 * addresses.ts); pages never work out the origin by a rule of their own.
 */
export const PUBLIC_ORIGIN_HEADER = 'x-sketchroom-public-origin'

/** The oEmbed discovery URL for an absolute page URL. */
export function oembedUrl(origin: string, pageUrl: string): string {
  return `${origin}/api/oembed?url=${encodeURIComponent(pageUrl)}`
}

// ---------------------------------------------------------------------------------------
// Previews

/** Where board previews are uploaded (PUT) and served, at `/api/previews/<view token>`. */
export const PREVIEWS_PATH = '/api/previews'

/**
 * Request headers through which the server tells a board page what it may say about the
 * board in its Open Graph tags: the title (URI-encoded) and the preview's path, which is
 * made of the board's view link. Set (or removed) by the server on every page request,
 * like {@link PUBLIC_ORIGIN_HEADER}; whatever a client sent is dropped.
 */
export const BOARD_TITLE_HEADER = 'x-sketchroom-board-title'
export const BOARD_PREVIEW_HEADER = 'x-sketchroom-board-preview'
