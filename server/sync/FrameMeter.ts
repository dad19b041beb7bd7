import type { InflightBudget } from './InflightBudget'

/** The byte stream under a WebSocket, as far as metering needs it. */
export interface MeteredStream {
  prependListener(event: 'data', listener: (chunk: Buffer) => void): unknown
  removeListener(event: 'data', listener: (chunk: Buffer) => void): unknown
  pause(): unknown
  resume(): unknown
}

export interface FrameMeterOptions {
  budget: InflightBudget
  /** The largest message this connection may send right now. */
  limit(): number
  /** A message over `limit` started: close the connection (its frame is not read on). */
  tooBig(bytes: number, limit: number): void
  /** A message waited longer than `waitMs` for room in the budget. */
  busy(): void
  waitMs: number
}

const CONTROL = 0x08
const FIN = 0x80
const MASKED = 0x80

/**
 * Reads the WebSocket frame headers on a connection's raw stream, just ahead of `ws`
 * (which only reports a message once it has all of it), so a message's size is known
 * before its bytes arrive:
 *
 * - a message over the connection's limit closes it at its first header, before `ws`
 *   buffers it;
 * - every message reserves its size from the server-wide InflightBudget; when the budget
 *   is spent, the stream is paused (the client waits, TCP pushes back) until other
 *   messages are handled, and a message that waits too long closes the connection.
 *
 * Control frames (ping, pong, close) are tiny and cost nothing. Call `handled()` once per
 * message `ws` delivers.
 *
 * @example
 * const meter = new FrameMeter(netSocket, { budget, limit: () => 2 << 20, tooBig, busy, waitMs: 20_000 })
 * ws.on('message', (data) => { handle(data); meter.handled() })
 */
export class FrameMeter {
  private readonly header = Buffer.alloc(14)
  private headerBytes = 0
  private headerNeeds = 2
  private payloadLeft = 0
  /** Payload bytes of the message whose frames are arriving. */
  private current = 0
  /** Messages fully read (their last frame seen) that `ws` has not delivered yet, oldest first. */
  private readonly complete: number[] = []
  private reserved = 0
  /** Bytes already released for messages whose reservation has not been granted yet. */
  private owed = 0
  /**
   * Sizes of messages whose limit waits for the messages before them to be handled (a sync
   * step 1 in the same chunk may be what lets an editor send a big one). The stream is
   * paused while any wait.
   */
  private readonly unchecked: Array<{ bytes: number; ahead: number }> = []
  /** Reservations waiting for room in the budget (each cancels itself). */
  private readonly waits: Array<{ cancel: () => void }> = []
  private waitTimer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(
    private readonly stream: MeteredStream,
    private readonly options: FrameMeterOptions,
  ) {
    // Ahead of ws's own listener: the header is read before ws can deliver the message.
    stream.prependListener('data', this.onData)
  }

  /** Bytes this connection holds of the budget now. */
  get held(): number {
    return this.reserved
  }

  /** `ws` delivered a message and it has been handled: its bytes go back to the budget. */
  handled(): void {
    const size = this.complete.shift() ?? 0
    this.release(size)
    if (this.unchecked.length === 0 || this.stopped) return
    for (const entry of this.unchecked) entry.ahead--
    while (this.unchecked.length > 0 && this.unchecked[0]!.ahead <= 0) {
      const { bytes } = this.unchecked.shift()!
      const limit = this.options.limit()
      if (bytes > limit) return this.refuse(bytes, limit)
    }
    this.resumeIfFree()
  }

  private refuse(bytes: number, limit: number): void {
    this.stop()
    this.options.tooBig(bytes, limit)
  }

  private resumeIfFree(): void {
    if (!this.stopped && this.waits.length === 0 && this.unchecked.length === 0) this.stream.resume()
  }

  /** The connection is gone: everything it held goes back, and it leaves the line. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.stream.removeListener('data', this.onData)
    for (const wait of this.waits.splice(0)) wait.cancel()
    if (this.waitTimer) clearTimeout(this.waitTimer)
    this.options.budget.give(this.reserved)
    this.reserved = 0
  }

  private release(bytes: number): void {
    const given = Math.min(bytes, this.reserved)
    this.reserved -= given
    // A message handled before its reservation came through: the grant, when it comes, goes straight back.
    this.owed += bytes - given
    this.options.budget.give(given)
  }

  private granted(bytes: number): void {
    this.reserved += bytes
    const repay = Math.min(this.owed, this.reserved)
    if (repay === 0) return
    this.owed -= repay
    this.reserved -= repay
    this.options.budget.give(repay)
  }

  private readonly onData = (chunk: Buffer): void => {
    let i = 0
    while (i < chunk.length && !this.stopped) {
      if (this.payloadLeft > 0) {
        const skip = Math.min(this.payloadLeft, chunk.length - i)
        this.payloadLeft -= skip
        i += skip
        continue
      }
      this.header[this.headerBytes++] = chunk[i++]!
      if (this.headerBytes === 2) {
        const len7 = this.header[1]! & 0x7f
        const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0
        this.headerNeeds = 2 + extended + (this.header[1]! & MASKED ? 4 : 0)
      }
      if (this.headerBytes < this.headerNeeds) continue
      const length = this.payloadLength()
      const first = this.header[0]!
      this.headerBytes = 0
      this.headerNeeds = 2
      this.payloadLeft = length
      if ((first & CONTROL) === 0) this.dataFrame(length, (first & FIN) !== 0)
    }
  }

  private payloadLength(): number {
    const len7 = this.header[1]! & 0x7f
    if (len7 === 126) return this.header.readUInt16BE(2)
    // 2^53 is far past any limit; Number keeps the comparison honest.
    if (len7 === 127) return Number(this.header.readBigUInt64BE(2))
    return len7
  }

  private dataFrame(length: number, fin: boolean): void {
    this.current += length
    if (this.complete.length > 0) {
      // Earlier messages of this stream are not handled yet; they may raise the limit.
      this.unchecked.push({ bytes: this.current, ahead: this.complete.length })
      this.stream.pause()
    } else {
      const limit = this.options.limit()
      if (this.current > limit) return this.refuse(this.current, limit)
    }
    this.reserve(length)
    if (fin) {
      this.complete.push(this.current)
      this.current = 0
    }
  }

  private reserve(bytes: number): void {
    if (bytes === 0) return
    const { budget } = this.options
    if (this.waits.length === 0 && budget.take(bytes)) {
      this.reserved += bytes
      return
    }
    // Hold further bytes back until the budget has room for these.
    this.stream.pause()
    const entry = { cancel: () => {} }
    this.waits.push(entry)
    // May be granted at once, inside wait(), when the line ahead moves.
    entry.cancel = budget.wait(bytes, () => {
      this.granted(bytes)
      this.waits.splice(this.waits.indexOf(entry), 1)
      if (this.waits.length > 0) return
      if (this.waitTimer) clearTimeout(this.waitTimer)
      this.waitTimer = null
      this.resumeIfFree()
    })
    if (this.waits.length === 0 || this.waitTimer) return
    this.waitTimer = setTimeout(() => {
      this.waitTimer = null
      if (this.stopped || this.waits.length === 0) return
      this.stop()
      this.options.busy()
    }, this.options.waitMs)
    this.waitTimer.unref()
  }
}
