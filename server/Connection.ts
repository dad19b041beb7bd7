import type { Logger } from 'pino'
import type { Stats } from './Stats'

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

/** The byte stream under a WebSocket (the upgraded `net.Socket`): its writes can be held back. */
export interface Corkable {
  cork(): void
  uncork(): void
}

/**
 * Holds every socket's writes until the end of the event-loop turn, so all the frames a
 * peer gets in one turn (awareness, updates, from every flush) leave in one system call.
 * A write costs a syscall whatever its size; at many peers those calls were the server's
 * largest cost.
 *
 * @example
 * const batch = new WriteBatch()
 * batch.hold(netSocket) // before ws writes to it; released after this turn's I/O
 */
export class WriteBatch {
  private held = new Set<Corkable>()

  hold(transport: Corkable): void {
    if (this.held.has(transport)) return
    if (this.held.size === 0) setImmediate(this.release)
    transport.cork()
    this.held.add(transport)
  }

  private readonly release = (): void => {
    const held = this.held
    this.held = new Set()
    for (const transport of held) transport.uncork()
  }
}

export interface ConnectionOptions {
  /** Cut a peer off when this many bytes wait unsent to it (a reader that stopped reading). */
  maxBufferedBytes: number
  stats: Stats
  log: Logger
  /** With `transport`: writes of one turn go out together. */
  batch?: WriteBatch
  /** The stream under `socket`, when the caller has it (the HTTP upgrade hands it over). */
  transport?: Corkable
}

/**
 * One client's socket in one room: what it sends, what it owns in awareness, whether it
 * still answers pings.
 */
export class Connection {
  readonly openedAt = Date.now()
  /** Awareness client ids this connection introduced, with their last clock. */
  readonly awarenessClients = new Map<number, number>()
  /** Answered the last heartbeat ping. */
  alive = true
  lastSentAt = Date.now()
  closed = false
  closeCode: number | undefined
  closeReason = ''
  messagesIn = 0
  bytesIn = 0
  /** Came through a view-only link: may read and show a cursor, never write. */
  readOnly = false
  /** A read-only connection is told once that its writes are refused. */
  deniedWrite = false
  /** Sent sync step 1: a real client, not a socket held open for nothing. */
  handshaken = false
  /** Refused changes and awareness updates so far; too many close the connection. */
  offences = 0

  constructor(
    readonly socket: SyncSocket,
    readonly roomId: string,
    readonly id: number,
    private readonly options: ConnectionOptions,
  ) {}

  /** Sends one frame unless the peer is gone or stopped reading; returns false if not sent. */
  send(frame: Uint8Array): boolean {
    if (this.closed || this.socket.readyState !== OPEN) return false
    if (this.socket.bufferedAmount > this.options.maxBufferedBytes) {
      // Closing politely would queue the close frame behind megabytes it does not read.
      this.closeCode = 1008
      this.closeReason = `slow consumer: over ${this.options.maxBufferedBytes} bytes unsent`
      this.closed = true
      this.socket.terminate()
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
    if (this.closed) return
    this.closed = true
    this.closeCode = code
    this.closeReason = reason
    try {
      // Close reasons are limited to 123 bytes by the WebSocket protocol.
      this.socket.close(code, truncateUtf8(reason, 123))
    } catch (err) {
      this.options.log.warn({ err, room: this.roomId, conn: this.id }, 'close failed; terminating')
      this.socket.terminate()
    }
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  let out = text
  while (Buffer.byteLength(out) > maxBytes - 3) out = out.slice(0, -1)
  return `${out}...`
}
