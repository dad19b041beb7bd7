/**
 * Who may open a sync WebSocket, decided before the upgrade. `admit` is pure: it reads the
 * request and the policy, and says accept (with the room and the mode), refuse with an
 * HTTP status, or upgrade only to close with a reason (a bad link: the client reads why
 * over the socket and does not retry). `handleUpgrade` does the I/O around it.
 */
import type http from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { WebSocketServer } from 'ws'
import { TOKEN_PATTERN } from '../../lib/links'
import { CloseCode, FEATURES_PARAM, STATUS_FEATURE, SYNC_PATH_PREFIX } from '../../lib/protocol'
import { roomIdProblem } from '../../lib/roomId'
import type { SyncServer } from '../sync/SyncServer'
import { refuseUpgrade } from './responses'
import { type Grant, TokenError } from './tokens'

/** What `admit` reads of an upgrade request. */
export interface UpgradeRequest {
  /** The path as sent, query included. */
  url: string
  /** The Origin header, when a browser sent one. */
  origin?: string
  host?: string
  /** The client's address (see addresses.ts). */
  address: string
}

export interface AdmissionPolicy {
  /** The server is shutting down. */
  closing: boolean
  originAllowed(origin: string, host: string | undefined): boolean
  /** Takes a connection slot for `address` (released when its socket closes), or says why not. */
  takeConnection(address: string): { release(): void } | { status: number; reason: string }
  /** The grant in a link token; throws TokenError. */
  verify(token: string): Grant
}

export type Admission =
  | {
      kind: 'accept'
      roomId: string
      readOnly: boolean
      address: string
      wantsStatus: boolean
      expiresAt: number | null
      /** The link generation of the token it came with; null with the room id (never reset). */
      linkGeneration: number | null
      /** Gives the connection slot back: call when the socket closes. */
      release(): void
    }
  | { kind: 'refuse'; status: number; reason: string }
  | { kind: 'close'; code: number; reason: string; release(): void }
  /** Not a sync path: someone else's upgrade (Next.js in development), or 404. */
  | { kind: 'pass' }

/**
 * Decides an upgrade request. Checks run cheapest first and never touch a room: the path
 * (a room id, or a token in its place), shutdown, the browser origin, the per-address
 * limit, then the token.
 *
 * @example
 * const verdict = admit({ url: req.url, origin: req.headers.origin, host: req.headers.host, address }, policy)
 */
export function admit(request: UpgradeRequest, policy: AdmissionPolicy): Admission {
  const [pathname = '/', query = ''] = request.url.split('?', 2)
  if (pathname !== '/sync' && !pathname.startsWith(SYNC_PATH_PREFIX)) return { kind: 'pass' }
  const segment = pathname.slice(SYNC_PATH_PREFIX.length)
  // A segment with a dot is a link token (view-only or expiring); anything else a room id.
  const isToken = TOKEN_PATTERN.test(segment)
  const problem = isToken ? null : roomIdProblem(segment)
  if (problem) return { kind: 'refuse', status: 400, reason: problem }
  if (policy.closing) return { kind: 'refuse', status: 503, reason: 'server is shutting down' }
  // Cross-site WebSocket hijacking: a browser page on another site may not open our socket.
  if (request.origin !== undefined && !policy.originAllowed(request.origin, request.host)) {
    return { kind: 'refuse', status: 403, reason: `origin ${request.origin} may not connect; see ALLOWED_ORIGINS` }
  }
  const slot = policy.takeConnection(request.address)
  if ('status' in slot) return { kind: 'refuse', status: slot.status, reason: slot.reason }
  const features = new URLSearchParams(query).get(FEATURES_PARAM)?.split(',') ?? []
  const accepted = {
    kind: 'accept' as const,
    address: request.address,
    wantsStatus: features.includes(STATUS_FEATURE),
    release: slot.release,
  }
  if (!isToken) return { ...accepted, roomId: segment, readOnly: false, expiresAt: null, linkGeneration: null }
  try {
    const grant = policy.verify(segment)
    // Whether the link was reset since is the room's to say: it knows the board's generation.
    return {
      ...accepted,
      roomId: grant.roomId,
      readOnly: grant.mode === 'view',
      expiresAt: grant.expiresAt,
      linkGeneration: grant.generation ?? 0,
    }
  } catch (err) {
    const reason = err instanceof TokenError ? err.message : 'this link is not valid'
    return { kind: 'close', code: CloseCode.Unauthorized, reason, release: slot.release }
  }
}

export interface UpgradeHandlerOptions {
  wss: WebSocketServer
  sync: SyncServer
  log: Logger
  /** The policy for this request (its shutdown flag is read now). */
  policy(): AdmissionPolicy
  address(req: http.IncomingMessage): string
  /** Upgrades that are not ours (Next.js's hot reload in development). */
  next?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>
}

/** The server's 'upgrade' listener: admits, upgrades, and hands the socket to the SyncServer. */
export function createUpgradeHandler(options: UpgradeHandlerOptions): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { wss, sync, log } = options
  return (req, socket, head) => {
    const verdict = admit(
      { url: req.url ?? '/', origin: req.headers.origin, host: req.headers.host, address: options.address(req) },
      options.policy(),
    )
    switch (verdict.kind) {
      case 'pass':
        if (options.next) options.next(req, socket, head).catch(() => socket.destroy())
        else refuseUpgrade(socket, 404, 'no WebSocket endpoint here; use /sync/<roomId>')
        return
      case 'refuse':
        return refuseUpgrade(socket, verdict.status, verdict.reason)
      case 'close':
        // Told why over the socket, before any document data, so the client does not retry.
        socket.once('close', verdict.release)
        return wss.handleUpgrade(req, socket, head, (ws) => ws.close(verdict.code, verdict.reason))
      case 'accept': {
        const { roomId } = verdict
        // The raw socket closes however the upgrade ends (refused by ws, or closed later).
        socket.once('close', verdict.release)
        wss.handleUpgrade(req, socket, head, (ws) => {
          const events = sync.accept(ws, roomId, {
            ip: verdict.address,
            readOnly: verdict.readOnly,
            wantsStatus: verdict.wantsStatus,
            expiresAt: verdict.expiresAt,
            linkGeneration: verdict.linkGeneration,
            transport: socket,
          })
          ws.on('message', (data: Buffer, isBinary: boolean) => events.message(data, isBinary))
          ws.on('pong', () => events.pong())
          ws.on('close', (code: number, reason: Buffer) => events.close(code, reason.toString()))
          ws.on('error', (err: Error & { code?: string }) => {
            // ws closes the socket itself (1009 for frames over maxPayload); just record why.
            log.warn({ room: sync.tagRoom(roomId), err: err.message, code: err.code }, 'socket error')
          })
        })
        return
      }
    }
  }
}
