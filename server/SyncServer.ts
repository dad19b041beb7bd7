import type { Logger } from 'pino'
import { CloseCode } from '../lib/protocol'
import { type Corkable, Connection, type SyncSocket, WriteBatch } from './Connection'
import { SyncError } from './errors'
import { KEEPALIVE_FRAME } from './messages'
import type { BoardRules } from './BoardRules'
import type { Room, RoomLimits, RoomReplication } from './Room'
import { type RoomLifecycle, RoomManager } from './RoomManager'
import { Stats } from './Stats'
import type { Store } from './Store'

export interface SyncServerOptions {
  store: Store
  log: Logger
  /** Cut a peer off when this many bytes wait unsent to it. */
  maxBufferedBytes: number
  /** Ping every socket this often; one that missed the previous ping is terminated. */
  heartbeatIntervalMs: number
  compactAfterBytes: number
  compactAfterEntries?: number
  /** A busy room sends at most this often, batching what arrives meanwhile (default 16 ms). */
  flushIntervalMs?: number
  /** A room whose document has not changed this long keeps only its encoded state (default 30 s). */
  dormantAfterMs?: number
  /** Grace period before an empty room is unloaded (default 1 s). */
  unloadDelayMs?: number
  observeAppendSeconds?: (seconds: number) => void
  /** tldraw's rules for board content; without them the server relays any Yjs content. */
  rules?: BoardRules
  limits: SyncLimits
  /** Multi-instance replication (the Bus); absent for a single process. */
  replicate?: RoomReplication
  lifecycle?: RoomLifecycle
}

export interface SyncLimits extends RoomLimits {
  /** Sustained messages per second per connection (token bucket), and the bucket's size. */
  messagesPerSecond: number
  messageBurst: number
  /** A connection that has not sent sync step 1 this long after opening is closed. */
  handshakeTimeoutMs: number
}

/** What the transport calls when its socket has news. */
export interface SocketEvents {
  message(data: Uint8Array, isBinary: boolean): void
  close(code: number, reason: string): void
  pong(): void
}

/**
 * The y-websocket sync service, without any transport: the edge (main.ts) upgrades the
 * HTTP request and hands each socket to `accept`.
 *
 * @example
 * const sync = new SyncServer({ store, log, maxBufferedBytes: 16 << 20, heartbeatIntervalMs: 10_000, compactAfterBytes: 1 << 20 })
 * wss.on('connection', (ws, req) => {
 *   const events = sync.accept(ws, roomId)
 *   ws.on('message', (data, isBinary) => events.message(data as Buffer, isBinary))
 *   ws.on('close', (code, reason) => events.close(code, reason.toString()))
 *   ws.on('pong', () => events.pong())
 * })
 */
export class SyncServer {
  readonly stats = new Stats()
  readonly rooms: RoomManager
  private readonly connections = new Set<Connection>()
  private readonly dirtyRooms = new Set<Room>()
  private flushScheduled = false
  private readonly writes = new WriteBatch()
  private readonly heartbeat: NodeJS.Timeout
  private nextConnectionId = 1
  private closing = false

  constructor(private readonly options: SyncServerOptions) {
    this.rooms = new RoomManager(
      {
        store: options.store,
        log: options.log,
        stats: this.stats,
        requestFlush: (room) => this.requestFlush(room),
        compactAfterBytes: options.compactAfterBytes,
        compactAfterEntries: options.compactAfterEntries ?? 10_000,
        observeAppendSeconds: options.observeAppendSeconds,
        flushIntervalMs: options.flushIntervalMs ?? 16,
        replicate: options.replicate,
        rules: options.rules,
        limits: options.limits,
      },
      options.log,
      options.unloadDelayMs ?? 1000,
      options.lifecycle,
    )
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatIntervalMs)
    this.heartbeat.unref()
  }

  get connectionCount(): number {
    return this.connections.size
  }

  get isClosing(): boolean {
    return this.closing
  }

  health(): { status: 'ok' | 'closing'; rooms: number; connections: number } {
    return { status: this.closing ? 'closing' : 'ok', rooms: this.rooms.size, connections: this.connections.size }
  }

  /** Takes an upgraded socket for a (valid) room id. Messages are held until the room is loaded. */
  accept(socket: SyncSocket, roomId: string, meta: { ip?: string; readOnly?: boolean; transport?: Corkable } = {}): SocketEvents {
    const { log } = this.options
    const stats = this.stats
    const conn = new Connection(socket, roomId, this.nextConnectionId++, {
      maxBufferedBytes: this.options.maxBufferedBytes,
      stats: this.stats,
      log,
      batch: this.writes,
      transport: meta.transport,
    })
    conn.readOnly = meta.readOnly ?? false
    this.connections.add(conn)
    stats.connectionsOpened++
    log.info({ room: roomId, conn: conn.id, ip: meta.ip, readOnly: conn.readOnly }, 'connection open')

    let room: Room | null = null
    let held: Uint8Array[] | null = []
    let left = false
    const limits = this.options.limits
    // Token bucket: `messageBurst` at once, refilled at `messagesPerSecond`.
    let tokens = limits.messageBurst
    let refilledAt = Date.now()
    const handshake = setTimeout(() => {
      if (!conn.handshaken) {
        conn.close(CloseCode.Malformed, `handshake not completed: no sync step 1 within ${limits.handshakeTimeoutMs} ms`)
      }
    }, limits.handshakeTimeoutMs)
    handshake.unref()

    const handle = (frame: Uint8Array) => {
      try {
        // Echoes of awareness the server already has cost nothing worth limiting.
        if (!room!.receive(conn, frame)) tokens = Math.min(limits.messageBurst, tokens + 1)
      } catch (err) {
        this.reject(conn, err)
      }
    }

    if (this.closing) {
      conn.close(CloseCode.GoingAway, 'server is shutting down')
    } else {
      this.rooms.open(roomId).then(
        (opened) => {
          opened.joining--
          if (conn.closed || left) {
            this.rooms.released(opened)
            return
          }
          try {
            opened.join(conn)
          } catch (err) {
            this.reject(conn, err)
            this.rooms.released(opened)
            return
          }
          room = opened
          const queue = held!
          held = null
          for (const frame of queue) {
            if (conn.closed) break
            handle(frame)
          }
        },
        (err: unknown) => {
          held = null
          log.error({ err, room: roomId }, 'room failed to load')
          conn.close(CloseCode.InternalError, 'could not load this board; try again shortly')
        },
      )
    }

    return {
      message: (data, isBinary) => {
        if (conn.closed) return
        stats.messagesIn++
        stats.bytesIn += data.length
        conn.messagesIn++
        conn.bytesIn += data.length
        if (!isBinary) {
          conn.close(CloseCode.Malformed, 'malformed message: text frames are not part of the protocol')
          return
        }
        const now = Date.now()
        tokens = Math.min(limits.messageBurst, tokens + ((now - refilledAt) * limits.messagesPerSecond) / 1000)
        refilledAt = now
        if (tokens < 1) {
          conn.close(CloseCode.RateLimited, `rate limited: more than ${limits.messagesPerSecond} messages a second`)
          return
        }
        tokens -= 1
        if (held) held.push(data)
        else if (room) handle(data)
      },
      pong: () => {
        conn.alive = true
      },
      close: (code, reason) => {
        if (left) return
        left = true
        clearTimeout(handshake)
        conn.closed = true
        this.connections.delete(conn)
        const closeCode = conn.closeCode ?? code
        const closeReason = conn.closeReason || reason
        log.info(
          {
            room: roomId,
            conn: conn.id,
            code: closeCode,
            reason: closeReason,
            by: conn.closeCode === undefined ? 'client' : 'server',
            durationMs: Date.now() - conn.openedAt,
            messagesIn: conn.messagesIn,
            bytesIn: conn.bytesIn,
          },
          'connection closed',
        )
        if (room) {
          room.leave(conn)
          this.rooms.released(room)
        }
      },
    }
  }

  private reject(conn: Connection, err: unknown): void {
    if (err instanceof SyncError) {
      this.options.log.warn({ room: conn.roomId, conn: conn.id, reason: err.reason }, err.message)
      conn.close(err.closeCode, err.message)
      return
    }
    this.options.log.error({ err, room: conn.roomId, conn: conn.id }, 'unexpected error handling a message')
    conn.close(CloseCode.InternalError, 'internal error')
  }

  private requestFlush(room: Room): void {
    this.dirtyRooms.add(room)
    if (this.flushScheduled) return
    this.flushScheduled = true
    // setImmediate runs after all socket reads of this turn: one frame per room per turn.
    setImmediate(() => this.flushAll())
  }

  private flushAll(): void {
    this.flushScheduled = false
    const rooms = [...this.dirtyRooms]
    this.dirtyRooms.clear()
    for (const room of rooms) {
      room.flush().catch((err: unknown) => this.options.log.error({ err, room: room.id }, 'flush failed'))
    }
  }

  private beat(): void {
    const now = Date.now()
    const dormantAfter = this.options.dormantAfterMs ?? 30_000
    for (const room of this.rooms.values()) room.sleepIfIdle(now, dormantAfter)
    const idleBefore = now - this.options.heartbeatIntervalMs
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.closeCode = 1006
        conn.closeReason = 'no answer to heartbeat ping'
        conn.closed = true
        conn.socket.terminate()
        continue
      }
      conn.alive = false
      try {
        conn.socket.ping()
      } catch {
        // The socket is closing; its close event will clean up.
      }
      // y-websocket clients reconnect after 30 s without a message; keep quiet rooms alive.
      if (conn.lastSentAt < idleBefore) conn.send(KEEPALIVE_FRAME)
    }
  }

  /** Stops accepting, stores everything, closes every socket with 1001. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.heartbeat)
    for (const conn of this.connections) conn.close(CloseCode.GoingAway, 'server is shutting down')
    this.flushAll()
    await this.rooms.unloadAll()
    await this.options.store.close()
  }
}
