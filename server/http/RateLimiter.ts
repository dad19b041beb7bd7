/**
 * Counts what each key spends (new connections, uploaded bytes) over a rolling window:
 * the current fixed window plus the previous one, weighted by how much of it the rolling
 * window still covers. Memory is bounded by the keys seen in two windows.
 *
 * @example
 * const connections = new RateLimiter(120, 60_000)
 * if (!connections.take(ip)) refuse(429)
 * const bytes = new RateLimiter(256 * 2 ** 20, 3_600_000)
 * if (!bytes.take(ip, chunk.length)) refuse(429)
 */
export class RateLimiter {
  private window = 0
  private current = new Map<string, number>()
  private previous = new Map<string, number>()

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** What `key` spent in the rolling window that ends now. */
  used(key: string): number {
    const now = this.now()
    this.roll(now)
    const stillCovered = 1 - (now % this.windowMs) / this.windowMs
    return (this.previous.get(key) ?? 0) * stillCovered + (this.current.get(key) ?? 0)
  }

  /** Whether `key` may spend `amount` more without passing the limit. */
  allows(key: string, amount = 1): boolean {
    return this.used(key) + amount <= this.limit
  }

  /** Spends `amount` for `key`, counted even when it is over (a flood stays refused); false when over the limit. */
  take(key: string, amount = 1): boolean {
    this.roll(this.now())
    this.current.set(key, (this.current.get(key) ?? 0) + amount)
    return this.used(key) <= this.limit
  }

  private roll(now: number): void {
    const window = Math.floor(now / this.windowMs)
    if (window === this.window) return
    this.previous = window === this.window + 1 ? this.current : new Map()
    this.current = new Map()
    this.window = window
  }
}
