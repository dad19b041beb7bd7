import type { Logger } from 'pino'
import { CloseCode } from '../../lib/protocol'
import { KEEPALIVE_FRAME } from '../protocol/messages'
import type { Peer } from '../room/Peer'
import { FrameMeter, type MeteredStream } from './FrameMeter'
import type { InflightBudget } from './InflightBudget'
import type { Stats } from './Stats'
import type { Corkable, WriteBatch } from './WriteBatch'

/**
 * The little the server needs of a WebSocket. `ws`'s WebSocket satisfies it; tests may
 * pass a fake and run a Room with no network.
 */
export interface SyncSocket {
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  terminate(): void
  ping(): void
}

const OPEN = 1
/** The close code a socket gets when the server drops it without a close handshake. */
const ABNORMAL = 1006
/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface ConnectionLimits {
  /** Cut a peer off when this many bytes wait unsent to it (a reader that stopped reading). */
  maxBufferedBytes: number
  /** Sustained messages per second (token bucket), and the bucket's size. */
  messagesPerSecond: number
  messageBurst: number
  /** A connection that has not sent sync step 1 this long after opening is closed. */
  handshakeTimeoutMs: number
  /** Refused messages a connection may send before it is closed with 4400. */
  maxOffences: number
  /**
   * The largest message of a connection that may not write yet: view-only, still in its
   * handshake, or waiting for its room to load.
   */
  maxMessageBytes: number
  /** The largest message of an edit connection in its room: a change as big as a board may be. */
  maxEditMessageBytes: number
  /** How long a message may wait for room in the in-flight budget before its connection is closed. */
  inflightWaitMs: number
}

export interface ConnectionOptions {
  roomId: string
  /** What logs call the room (its id is a capability). */
  roomTag: string
  id: number
  /** Came through a view-only link: may read and show a cursor, never write. */
  readOnly?: boolean
  /** Asked for Status messages (`?features=status`). */
  wantsStatus?: boolean
  /** When the link it came through expires (epoch ms): then it is closed with 4401. */
  expiresAt?: number | null
  /** The link generation of the token it came with; null (default) with the room id. */
  linkGeneration?: number | null
  limits: ConnectionLimits
  stats: Stats
  log: Logger
  /** With `transport`: the writes of one turn go out together. */
  batch?: WriteBatch
  /** The stream under `socket`, when the caller has it (the HTTP upgrade hands it over). */
  transport?: Corkable & Partial<MeteredStream>
  /** With `transport`: messages reserve their size here while they arrive and are handled. */
  budget?: InflightBudget
}

/** What the connection log line says about a connection that ended. */
export interface ConnectionSummary {
  code: number
  reason: string
  by: 'client' | 'server'
  durationMs: number
  messagesIn: number
  bytesIn: number
}

/**
 * One client's socket in one room, and the only thing that sends to it, closes it or
 * terminates it. It keeps its own budgets: the message-rate bucket, the handshake timer,
 * the count of refused messages, whether it still answers pings.
 *
 * @example
 * const conn = new Connection(ws, { roomId, roomTag, id: 1, limits, stats, log })
 * ws.on('message', (data, isBinary) => conn.receive(data.length, isBinary) && room.receive(conn, data))
 * ws.on('close', (code, reason) => log.info(conn.ended(code, reason.toString())))
 */
export class Connection implements Peer {
  readonly id: number
  readonly roomId: string
  readonly roomTag: string
  readonly readOnly: boolean
  readonly linkGeneration: number | null
  readonly wantsStatus: boolean
  readonly openedAt = Date.now()
  private isClosed = false
  /** Set when the server closed or dropped the socket: what the log line says. */
  private closeCode: number | undefined
  private closeReason = ''
  private alive = true
  private lastSentAt = Date.now()
  private messagesIn = 0
  private bytesIn = 0
  private offenceCount = 0
  private deniedWrite = false
  private handshaken = false
  private tokens: number
  private refilledAt = Date.now()
  private readonly handshakeTimer: NodeJS.Timeout
  private expiryTimer: NodeJS.Timeout | null = null
  private inRoom = false
  private readonly meter: FrameMeter | null = null

  constructor(
    readonly socket: SyncSocket,
    private readonly options: ConnectionOptions,
  ) {
    this.id = options.id
    this.roomId = options.roomId
    this.roomTag = options.roomTag
    this.readOnly = options.readOnly ?? false
    this.linkGeneration = options.linkGeneration ?? null
    this.wantsStatus = options.wantsStatus ?? false
    const limits = options.limits
    this.tokens = limits.messageBurst
    this.handshakeTimer = setTimeout(() => {
      if (!this.handshaken) {
        this.close(CloseCode.Malformed, `handshake not completed: no sync step 1 within ${limits.handshakeTimeoutMs} ms`)
      }
    }, limits.handshakeTimeoutMs)
    this.handshakeTimer.unref()
    if (options.expiresAt != null) this.closeAt(options.expiresAt)
    const { transport, budget } = options
    if (budget && transport?.prependListener && transport.removeListener && transport.pause && transport.resume) {
      this.meter = new FrameMeter(transport as MeteredStream, {
        budget,
        limit: () => this.messageLimit(),
        tooBig: (bytes, limit) => this.tooBig(bytes, limit),
        busy: () => this.close(CloseCode.TryAgainLater, 'the server is busy receiving other large changes; try again shortly'),
        waitMs: limits.inflightWaitMs,
      })
    }
  }

  /** The largest message it may send now: an edit connection that joined its room may send a whole board's worth. */
  messageLimit(): number {
    const { maxMessageBytes, maxEditMessageBytes } = this.options.limits
    return this.readOnly || !this.handshaken || !this.inRoom ? maxMessageBytes : Math.max(maxMessageBytes, maxEditMessageBytes)
  }

  /** It has joined its room: as an editor, it may now send big changes. */
  joined(): void {
    this.inRoom = true
  }

  /** A message `ws` delivered has been handled: its bytes leave the in-flight budget. */
  handled(): void {
    this.meter?.handled()
  }

  private tooBig(bytes: number, limit: number): void {
    const why = this.readOnly ? 'a view-only link sends no changes' : 'the connection has not finished its handshake'
    const reason = limit < this.options.limits.maxEditMessageBytes ? `; ${why}` : ''
    this.close(CloseCode.TooBig, `message too big: ${bytes} bytes, the limit is ${limit}${reason}`)
    // The rest of the message is not read: the close frame goes out, and the socket soon after.
    this.options.transport?.pause?.()
    setTimeout(() => this.socket.terminate(), 1000).unref()
  }

  /** A link checked at the upgrade still expires on a socket that stays open. */
  private closeAt(expiresAt: number): void {
    const wait = expiresAt - Date.now()
    if (wait <= 0) return this.close(CloseCode.Unauthorized, 'this link has expired')
    // setTimeout holds at most ~24.8 days; a longer link re-arms on the way.
    this.expiryTimer = setTimeout(() => this.closeAt(expiresAt), Math.min(wait, MAX_TIMER_MS))
    this.expiryTimer.unref()
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** Sends one frame unless the peer is gone or stopped reading; returns false if not sent. */
  send(frame: Uint8Array): boolean {
    if (this.isClosed || this.socket.readyState !== OPEN) return false
    const { maxBufferedBytes } = this.options.limits
    if (this.socket.bufferedAmount > maxBufferedBytes) {
      // Closing politely would queue the close frame behind megabytes it does not read.
      this.terminate(CloseCode.Policy, `slow consumer: over ${maxBufferedBytes} bytes unsent`)
      return false
    }
    const { batch, transport } = this.options
    if (batch && transport) batch.hold(transport)
    this.socket.send(frame)
    this.lastSentAt = Date.now()
    const stats = this.options.stats
    stats.messagesOut++
    stats.bytesOut += frame.length
    return true
  }

  /** Closes with a code and a reason the client can read. Idempotent. */
  close(code: number, reason: string): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeCode = code
    this.closeReason = reason
    try {
      // Close reasons are limited to 123 bytes by the WebSocket protocol.
      this.socket.close(code, truncateUtf8(reason, 123))
    } catch (err) {
      this.options.log.warn({ err, room: this.roomTag, conn: this.id }, 'close failed; terminating')
      this.socket.terminate()
    }
  }

  /** Drops the socket without a close handshake (it does not read, or does not answer). */
  private terminate(code: number, reason: string): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeCode = code
    this.closeReason = reason
    this.socket.terminate()
  }

  /**
   * A frame of `bytes` arrived. Counts it and spends a token of the rate bucket
   * (`messageBurst` at once, refilled at `messagesPerSecond`); returns false, having
   * closed the connection, when it must not be handled.
   */
  receive(bytes: number, isBinary: boolean): boolean {
    if (this.isClosed) return false
    const stats = this.options.stats
    stats.messagesIn++
    stats.bytesIn += bytes
    this.messagesIn++
    this.bytesIn += bytes
    if (!isBinary) {
      this.close(CloseCode.Malformed, 'malformed message: text frames are not part of the protocol')
      return false
    }
    const { messageBurst, messagesPerSecond } = this.options.limits
    const now = Date.now()
    this.tokens = Math.min(messageBurst, this.tokens + ((now - this.refilledAt) * messagesPerSecond) / 1000)
    this.refilledAt = now
    if (this.tokens < 1) {
      this.close(CloseCode.RateLimited, `rate limited: more than ${messagesPerSecond} messages a second`)
      return false
    }
    this.tokens -= 1
    return true
  }

  /** A message that changed nothing (an echo of awareness the server has) costs no token. */
  refund(): void {
    this.tokens = Math.min(this.options.limits.messageBurst, this.tokens + 1)
  }

  handshakeDone(): void {
    this.handshaken = true
  }

  offend(count = 1): boolean {
    this.offenceCount += count
    return this.offenceCount > this.options.limits.maxOffences
  }

  get offences(): number {
    return this.offenceCount
  }

  firstDeniedWrite(): boolean {
    if (this.deniedWrite) return false
    this.deniedWrite = true
    return true
  }

  pong(): void {
    this.alive = true
  }

  /**
   * One heartbeat: a socket that did not answer the previous ping is terminated; the
   * others are pinged, and those sent nothing since `idleBefore` get a keep-alive frame
   * (y-websocket clients reconnect after 30 s without a message).
   */
  heartbeat(idleBefore: number): void {
    if (this.isClosed) return
    if (!this.alive) {
      this.terminate(ABNORMAL, 'no answer to heartbeat ping')
      return
    }
    this.alive = false
    try {
      this.socket.ping()
    } catch {
      // The socket is closing; its close event will clean up.
    }
    if (this.lastSentAt < idleBefore) this.send(KEEPALIVE_FRAME)
  }

  /** The socket has closed (`code`/`reason` as the transport saw them): what to log. */
  ended(code: number, reason: string): ConnectionSummary {
    clearTimeout(this.handshakeTimer)
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.meter?.stop()
    const byServer = this.closeCode !== undefined
    this.isClosed = true
    return {
      code: this.closeCode ?? code,
      reason: this.closeReason || reason,
      by: byServer ? 'server' : 'client',
      durationMs: Date.now() - this.openedAt,
      messagesIn: this.messagesIn,
      bytesIn: this.bytesIn,
    }
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  let out = text
  while (Buffer.byteLength(out) > maxBytes - 3) out = out.slice(0, -1)
  return `${out}...`
}
