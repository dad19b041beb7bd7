import type { Logger } from 'pino'
import { CloseCode } from '../../lib/protocol'
import type { BoardRules } from '../board/BoardRules'
import { SyncError } from '../errors'
import { Room, type RoomLimits, type RoomReplication } from '../room/Room'
import { type RoomHandle, type RoomLifecycle, RoomRegistry } from '../room/RoomRegistry'
import { StoreMonitor } from '../room/StoreMonitor'
import type { VersionPolicy } from '../room/VersionKeeper'
import type { Store } from '../storage/Store'
import { Connection, type ConnectionLimits, type SyncSocket } from './Connection'
import type { MeteredStream } from './FrameMeter'
import { RoomHousekeeping } from './RoomHousekeeping'
import { FlushScheduler } from './FlushScheduler'
import { InflightBudget } from './InflightBudget'
import { roomTagger } from './roomTags'
import { Stats } from './Stats'
import { type Corkable, WriteBatch } from './WriteBatch'

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
  /** While the server is busy, that interval stretches up to this (default: the interval itself, fixed). */
  flushIntervalBusyMs?: number
  /** A room whose document has not changed this long keeps only its encoded state (default 30 s). */
  dormantAfterMs?: number
  /** Release memory to the OS once boards with this many encoded bytes went to sleep (see MemoryReleaser; 0: never, the default). */
  memoryReleaseBytes?: number
  /** Grace period before an empty room is unloaded (default 1 s). */
  unloadDelayMs?: number
  observeAppendSeconds?: (seconds: number) => void
  /** tldraw's rules for board content; without them the server relays any Yjs content. */
  rules?: BoardRules
  limits: SyncLimits
  /** Multi-instance replication (the Bus); absent for a single process. */
  replicate?: RoomReplication
  lifecycle?: RoomLifecycle
  /** What logs call a room (a keyed hash, see roomTags.ts); default: a key of this process. */
  tagRoom?: (roomId: string) => string
  /** Retry delays while the store refuses appends (default 250 ms doubling to 5 s). */
  storeRetryMs?: { first: number; max: number }
  /** When boards' versions are taken and how long they are kept; without it, none are. */
  versions?: VersionPolicy
  /**
   * How often each loaded room reads its catalog row again (BOARD_CHECK_INTERVAL_MS), so a
   * board deleted or its links reset by another process (`npm run boards`, another
   * instance that missed the bus) is acted on within this long. 0 or absent: never.
   */
  boardCheckIntervalMs?: number
}

export interface SyncLimits extends RoomLimits, Omit<ConnectionLimits, 'maxBufferedBytes'> {
  /** Bytes of messages being received and handled at once, server-wide. */
  inflightBytes: number
}

/** What the edge knows about a socket it hands over. */
export interface AcceptMeta {
  /** The client's address, for the log line. */
  ip?: string
  /** A view-only link. */
  readOnly?: boolean
  /** The client asked for Status messages. */
  wantsStatus?: boolean
  /** When the link it came through stops working (epoch ms): the socket is closed then. */
  expiresAt?: number | null
  /** The link generation of the token it came with; null with the room id. */
  linkGeneration?: number | null
  /** The stream under the WebSocket, so a turn's writes can be batched. */
  transport?: Corkable & Partial<MeteredStream>
}

/** What the transport calls when its socket has news. */
export interface SocketEvents {
  message(data: Uint8Array, isBinary: boolean): void
  close(code: number, reason: string): void
  pong(): void
}

/**
 * The y-websocket sync service, without any transport: the edge (http/upgrade.ts)
 * upgrades the HTTP request and hands each socket to `accept`. It routes a connection's
 * frames to its room (held until the room has loaded), runs the heartbeat, and owns the
 * one FlushScheduler every room sends through.
 *
 * @example
 * const sync = new SyncServer({ store, log, maxBufferedBytes: 48 << 20, heartbeatIntervalMs: 10_000,
 *   compactAfterBytes: 1 << 20, limits: syncLimits(config) })
 * wss.on('connection', (ws) => {
 *   const events = sync.accept(ws, roomId)
 *   ws.on('message', (data, isBinary) => events.message(data as Buffer, isBinary))
 *   ws.on('close', (code, reason) => events.close(code, reason.toString()))
 *   ws.on('pong', () => events.pong())
 * })
 */
export class SyncServer {
  readonly stats = new Stats()
  /** Whether the store keeps up: `/healthz` and `/metrics` read it. */
  readonly storeMonitor = new StoreMonitor()
  /** Bytes of messages being received and handled, server-wide. */
  readonly inflight: InflightBudget
  readonly rooms: RoomRegistry
  private readonly connections = new Set<Connection>()
  private readonly scheduler: FlushScheduler
  private readonly writes: WriteBatch
  private readonly heartbeat: NodeJS.Timeout
  private readonly housekeeping: RoomHousekeeping
  private nextConnectionId = 1
  private closing = false
  /** What logs call a room: never its id, which is the board's edit capability. */
  readonly tagRoom: (roomId: string) => string

  constructor(private readonly options: SyncServerOptions) {
    const { log } = options
    this.tagRoom = options.tagRoom ?? roomTagger()
    this.inflight = new InflightBudget(options.limits.inflightBytes)
    this.scheduler = new FlushScheduler({
      intervalMs: options.flushIntervalMs ?? 16,
      busyIntervalMs: options.flushIntervalBusyMs,
      onError: (err, room) => log.error({ err, room: this.tagRoom(room.id) }, 'flush failed'),
    })
    this.writes = new WriteBatch((release) => this.scheduler.atEndOfTurn(release))
    const roomOptions = {
      store: options.store,
      requestFlush: (room: Room) => this.scheduler.request(room),
      compactAfterBytes: options.compactAfterBytes,
      compactAfterEntries: options.compactAfterEntries ?? 10_000,
      observeAppendSeconds: options.observeAppendSeconds,
      replicate: options.replicate,
      rules: options.rules,
      limits: options.limits,
      monitor: this.storeMonitor,
      storeRetryMs: options.storeRetryMs,
      versions: options.versions,
    }
    this.rooms = new RoomRegistry({
      create: (roomId) => {
        const tag = this.tagRoom(roomId)
        return new Room(roomId, { ...roomOptions, tag, log: log.child({ room: tag }) })
      },
      log,
      unloadDelayMs: options.unloadDelayMs ?? 1000,
      lifecycle: options.lifecycle,
      forget: (roomId) => options.store.forget?.(roomId),
    })
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatIntervalMs)
    this.heartbeat.unref()
    this.housekeeping = new RoomHousekeeping({
      rooms: this.rooms,
      store: options.store,
      log,
      dormantAfterMs: options.dormantAfterMs ?? 30_000,
      memoryReleaseBytes: options.memoryReleaseBytes ?? 0,
      boardCheckIntervalMs: options.boardCheckIntervalMs,
    })
  }

  /** One round of re-reading loaded boards' catalog rows (see RoomHousekeeping). */
  checkBoards(): Promise<void> {
    return this.housekeeping.checkBoards()
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** The interval busy rooms send at now (ms): FLUSH_INTERVAL_MS, stretched while the server is busy. */
  get flushIntervalMs(): number {
    return this.scheduler.intervalMs
  }

  get isClosing(): boolean {
    return this.closing
  }

  /** `ok` only when the server takes and stores changes; otherwise a `reason` says why not. */
  health(): { status: 'ok' | 'closing' | 'store-failing'; reason?: string; rooms: number; connections: number } {
    const counts = { rooms: this.rooms.size, connections: this.connections.size }
    if (this.closing) return { status: 'closing', reason: 'the server is shutting down', ...counts }
    const problem = this.storeMonitor.problem
    if (problem) return { status: 'store-failing', reason: problem, ...counts }
    return { status: 'ok', ...counts }
  }

  /** Takes an upgraded socket for a (valid) room id. Messages are held until the room is loaded. */
  accept(socket: SyncSocket, roomId: string, meta: AcceptMeta = {}): SocketEvents {
    const { log, limits } = this.options
    const roomTag = this.tagRoom(roomId)
    const conn = new Connection(socket, {
      roomId,
      roomTag,
      id: this.nextConnectionId++,
      readOnly: meta.readOnly,
      wantsStatus: meta.wantsStatus,
      expiresAt: meta.expiresAt,
      linkGeneration: meta.linkGeneration,
      limits: { ...limits, maxBufferedBytes: this.options.maxBufferedBytes },
      budget: this.inflight,
      stats: this.stats,
      log,
      batch: this.writes,
      transport: meta.transport,
    })
    this.connections.add(conn)
    this.stats.connectionsOpened++
    log.info({ room: roomTag, conn: conn.id, ip: meta.ip, readOnly: conn.readOnly }, 'connection open')

    let handle: RoomHandle | null = null
    let held: Uint8Array[] | null = []
    // Frames held for a room this connection never joins still leave the in-flight budget,
    // and its stream is read again: else a refused joiner's close handshake is never read.
    const dropHeld = () => {
      for (const _ of held ?? []) conn.handled()
      held = null
    }
    const deliver = (room: Room, frame: Uint8Array) => {
      try {
        // Echoes of awareness the server already has cost nothing worth limiting.
        if (!room.receive(conn, frame)) conn.refund()
      } catch (err) {
        this.reject(conn, err)
      } finally {
        conn.handled()
      }
    }

    if (this.closing) {
      conn.close(CloseCode.GoingAway, 'server is shutting down')
    } else {
      this.rooms.acquire(roomId).then(
        async (claimed) => {
          // A link's connection: whether its board's links were reset since is the catalog's to say, now.
          // So is a board in the trash that may have come back out of it since the room read it.
          if ((conn.linkGeneration !== null || claimed.room.isDeleted) && !conn.closed) {
            try {
              await claimed.room.refreshBoard()
            } catch (err) {
              log.warn({ err, room: roomTag, conn: conn.id }, 'could not check a link against its board')
              conn.close(CloseCode.InternalError, 'could not check this link; try again shortly')
            }
          }
          if (conn.closed) {
            dropHeld()
            return claimed.release()
          }
          try {
            claimed.room.join(conn)
            conn.joined()
          } catch (err) {
            this.reject(conn, err)
            dropHeld()
            return claimed.release()
          }
          handle = claimed
          const queue = held!
          held = null
          for (const frame of queue) {
            if (conn.closed) break
            deliver(claimed.room, frame)
          }
        },
        (err: unknown) => {
          dropHeld()
          // A board in the trash says so (final); anything else is worth a retry.
          if (err instanceof SyncError) return conn.close(err.closeCode, err.message)
          log.error({ err, room: roomTag }, 'room failed to load')
          conn.close(CloseCode.InternalError, 'could not load this board; try again shortly')
        },
      )
    }

    let ended = false
    return {
      message: (data, isBinary) => {
        if (!conn.receive(data.length, isBinary)) return conn.handled()
        // Held frames are handled (and leave the in-flight budget) once the room is there.
        if (held) held.push(data)
        else if (handle) deliver(handle.room, data)
        else conn.handled()
      },
      pong: () => conn.pong(),
      close: (code, reason) => {
        if (ended) return
        ended = true
        this.connections.delete(conn)
        log.info({ room: roomTag, conn: conn.id, ...conn.ended(code, reason) }, 'connection closed')
        if (handle) {
          handle.room.leave(conn)
          handle.release()
        }
      },
    }
  }

  /**
   * Runs `work` with the room loaded (loading it if needed), for requests that act on a
   * board from outside a connection: its history API.
   *
   * @example
   * const versions = await sync.withRoom(roomId, (room) => room.history!.name('Kick-off'))
   */
  async withRoom<T>(roomId: string, work: (room: Room) => Promise<T>): Promise<T> {
    if (this.closing) throw new SyncError('storeFailed', 'the server is shutting down')
    const handle = await this.rooms.acquire(roomId)
    try {
      return await work(handle.room)
    } finally {
      handle.release()
    }
  }

  /**
   * The board's catalog row was changed here (its links reset, it went to the trash or
   * came back): the room, if loaded, acts on it at once, and other instances are told.
   */
  async boardChanged(roomId: string): Promise<void> {
    this.options.replicate?.boardChanged?.(roomId)
    await this.rooms.get(roomId)?.refreshBoard()
  }

  private reject(conn: Connection, err: unknown): void {
    if (err instanceof SyncError) {
      this.options.log.warn({ room: conn.roomTag, conn: conn.id, reason: err.reason }, err.message)
      conn.close(err.closeCode, err.message)
      return
    }
    this.options.log.error({ err, room: conn.roomTag, conn: conn.id }, 'unexpected error handling a message')
    conn.close(CloseCode.InternalError, 'internal error')
  }

  private beat(): void {
    const idleBefore = Date.now() - this.options.heartbeatIntervalMs
    for (const conn of this.connections) conn.heartbeat(idleBefore)
  }

  /** Stops accepting, stores everything, closes every socket with 1001. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.heartbeat)
    this.housekeeping.stop()
    for (const conn of this.connections) conn.close(CloseCode.GoingAway, 'server is shutting down')
    this.scheduler.flushAll()
    await this.rooms.unloadAll()
    await this.options.store.close()
  }
}
