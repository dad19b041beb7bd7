/**
 * The server-wide budget of bytes in flight: WebSocket messages being received and
 * handled. A message reserves its size when its first frame header arrives and gives it
 * back once handled, so a hundred clients each sending a big change at once cannot
 * take the process's memory: beyond the budget, senders wait in line (their sockets are
 * paused, TCP pushes back), first come first served.
 *
 * @example
 * const budget = new InflightBudget(128 * 2 ** 20)
 * if (!budget.take(size)) cancel = budget.wait(size, () => socket.resume())
 * // once handled:
 * budget.give(size)
 */
export class InflightBudget {
  private used = 0
  /** The most ever reserved at once, and how many reservations had to wait: for metrics and tests. */
  peak = 0
  waited = 0
  private readonly line: Array<{ bytes: number; granted: () => void }> = []

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used
  }

  get waiting(): number {
    return this.line.length
  }

  /** Reserves `bytes` now if they fit and nobody waits ahead; false otherwise. */
  take(bytes: number): boolean {
    if (this.line.length > 0 || this.used + bytes > this.limit) return false
    this.used += bytes
    this.peak = Math.max(this.peak, this.used)
    return true
  }

  /**
   * Queues for `bytes`; `granted` runs once they are reserved. Returns a cancel function
   * (a no-op once granted). `bytes` must not exceed the limit.
   */
  wait(bytes: number, granted: () => void): () => void {
    const entry = { bytes, granted }
    this.waited++
    this.line.push(entry)
    this.drain()
    return () => {
      const i = this.line.indexOf(entry)
      if (i >= 0) this.line.splice(i, 1)
      this.drain()
    }
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes)
    this.drain()
  }

  private drain(): void {
    while (this.line.length > 0 && this.used + this.line[0]!.bytes <= this.limit) {
      const next = this.line.shift()!
      this.used += next.bytes
      this.peak = Math.max(this.peak, this.used)
      next.granted()
    }
  }
}
