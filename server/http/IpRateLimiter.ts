/**
 * Counts new connections per client address in fixed windows. Old windows are dropped as
 * they pass, so memory is bounded by the addresses seen in one window.
 *
 * @example
 * const limiter = new IpRateLimiter(120, 60_000)
 * if (!limiter.take(ip)) refuse(429)
 */
export class IpRateLimiter {
  private window = 0
  private counts = new Map<string, number>()

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one connection from `ip`; false when it is over the limit for this window. */
  take(ip: string): boolean {
    const window = Math.floor(this.now() / this.windowMs)
    if (window !== this.window) {
      this.window = window
      this.counts = new Map()
    }
    const count = (this.counts.get(ip) ?? 0) + 1
    this.counts.set(ip, count)
    return count <= this.limit
  }
}
