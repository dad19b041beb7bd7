/**
 * A board's history over HTTP, for anyone with its edit capability (the room id, or an
 * edit token, in the path); a view-only link gets 403 on every route:
 *
 *   GET  /api/boards/<board>/versions                 → {"versions":[{id, createdAt, reason, name?, shapes, bytes, editors}]}, newest first
 *   GET  /api/boards/<board>/versions/<id>            → {"records":[…], "schema"}: the document-scope tldraw records of that version, and the tldraw schema they were written with (null if unknown)
 *   POST /api/boards/<board>/versions {"name"}        → 201 {"version"}: a named version of the board as it is now
 *   POST /api/boards/<board>/versions/<id>/restore {"by"?} → {"before", "restored"}: the board becomes that version for everyone
 *
 * `editors` are the self-chosen names people showed while editing, not identities.
 */
import type http from 'node:http'
import { TOKEN_PATTERN } from '../../lib/links'
import { roomIdProblem } from '../../lib/roomId'
import type { BoardRules } from '../board/BoardRules'
import { readBoard } from '../board/readBoard'
import { HistoryError, SyncError } from '../errors'
import type { BoardCatalog, VersionInfo } from '../storage/Store'
import type { SyncServer } from '../sync/SyncServer'
import type { BoardLinks } from './links'
import { BodyTooLarge, readBody, sendJson } from './responses'
import { TokenError } from './tokens'

export interface HistoryApiOptions {
  links: BoardLinks
  sync: SyncServer
  catalog: BoardCatalog
  rules: BoardRules
}

const PREFIX = '/api/boards/'
const MAX_BODY = 4096
const MAX_NAME = 100

/** The API's view of a version: what the issue of history promised, nothing of how it is stored. */
const shown = (v: VersionInfo) => ({
  id: v.id,
  createdAt: v.createdAt,
  reason: v.reason,
  ...(v.name !== null ? { name: v.name } : {}),
  shapes: v.shapes,
  bytes: v.bytes,
  editors: v.editors,
})

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** The room a path segment gives edit access to, or an ApiError saying why not. */
async function boardOf(segment: string, links: BoardLinks): Promise<string> {
  if (TOKEN_PATTERN.test(segment)) {
    try {
      const grant = await links.verify(segment)
      if (grant.mode === 'view') throw new ApiError(403, 'a view-only link cannot see or change the history of a board')
      return grant.roomId
    } catch (err) {
      if (err instanceof TokenError) throw new ApiError(err.problem === 'expired' || err.problem === 'revoked' ? 410 : 401, err.message)
      throw err
    }
  }
  if (roomIdProblem(segment) === null) return segment
  throw new ApiError(404, 'not a board link of this server')
}

async function jsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readBody(req, MAX_BODY)
  } catch (err) {
    throw err instanceof BodyTooLarge ? new ApiError(413, 'the request body is too large') : err
  }
  if (!text.trim()) return {}
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>
  } catch {
    // answered below
  }
  throw new ApiError(400, 'the body must be a JSON object')
}

/** Handles the request if it is one of ours; returns false to let others have it. */
export function handleHistoryApi(req: http.IncomingMessage, res: http.ServerResponse, options: HistoryApiOptions): boolean {
  const pathname = (req.url ?? '/').split('?')[0]!
  if (!pathname.startsWith(PREFIX)) return false
  const parts = pathname.slice(PREFIX.length).split('/')
  if (parts[1] !== 'versions' || parts.length > 4 || (parts.length === 4 && parts[3] !== 'restore')) return false
  route(req, parts, options).then(
    ({ status, body }) => sendJson(res, status, body),
    (err: unknown) => {
      if (err instanceof ApiError) return sendJson(res, err.status, { error: err.message })
      if (err instanceof HistoryError) return sendJson(res, 404, { error: err.message })
      if (err instanceof SyncError) return sendJson(res, err.reason === 'gone' ? 410 : 503, { error: err.message })
      sendJson(res, 500, { error: 'the history could not be read or changed; try again' })
    },
  )
  return true
}

async function route(req: http.IncomingMessage, parts: string[], options: HistoryApiOptions): Promise<{ status: number; body: unknown }> {
  const { links, sync, catalog, rules } = options
  const roomId = await boardOf(decodeURIComponent(parts[0]!), links)
  const board = await catalog.board(roomId)
  if (board?.deletedAt != null) throw new ApiError(410, 'this board was deleted')
  const id = parts[2] !== undefined ? decodeURIComponent(parts[2]) : undefined
  const method = req.method ?? 'GET'
  if (id === undefined && method === 'GET') {
    return { status: 200, body: { versions: (await catalog.versions(roomId)).map(shown) } }
  }
  if (id === undefined && method === 'POST') {
    const { name } = await jsonBody(req)
    if (typeof name !== 'string' || !name.trim() || name.length > MAX_NAME) {
      throw new ApiError(400, `name must be a string of 1 to ${MAX_NAME} characters`)
    }
    const version = await sync.withRoom(roomId, (room) => history(room).name(name.trim()))
    return { status: 201, body: { version: shown(version) } }
  }
  if (id !== undefined && parts.length === 3 && method === 'GET') {
    const state = await catalog.versionState(roomId, id)
    if (!state) throw new ApiError(404, 'no such version of this board')
    const version = readBoard(state)
    const records = [...version.records.values()].filter((r) => rules.isDocumentRecord(r))
    // The schema lets a browser migrate an older version's records before showing them.
    return { status: 200, body: { records, schema: version.schema } }
  }
  if (id !== undefined && parts.length === 4 && method === 'POST') {
    const { by } = await jsonBody(req)
    const name = typeof by === 'string' && by.trim() ? by.trim().slice(0, MAX_NAME) : null
    const result = await sync.withRoom(roomId, async (room) => {
      const done = await history(room).restore(id)
      room.announceRestore(name, done.target.createdAt)
      return done
    })
    return { status: 200, body: { before: result.before?.id ?? null, restored: result.restored?.id ?? null } }
  }
  throw new ApiError(405, 'method not allowed here')
}

function history(room: Parameters<Parameters<SyncServer['withRoom']>[1]>[0]) {
  if (!room.history) throw new ApiError(404, 'this server keeps no history')
  return room.history
}
