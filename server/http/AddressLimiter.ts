import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/** The per-address and total connection limits (see AddressLimiter). */
export interface AddressLimits {
  burst: number
  perMinute: number
  maxPerAddress: number
  maxTotal: number
}

export type Admitted = { release(): void }
export type Refused = { status: number; reason: string }

interface Bucket {
  tokens: number
  at: number
}

/** Full buckets are forgotten this often, so memory follows the addresses active now. */
const SWEEP_MS = 60_000

/**
 * Who may open a new WebSocket, per client address and in all. The limits are about
 * abuse, not about people: a school behind one NAT is hundreds of people on one address,
 * who all join at once and all come back at once after a restart.
 *
 * - Bursts with fast refill: each address has a bucket of `burst` new connections,
 *   refilled at `perMinute` (so at most `burst + perMinute` in any minute).
 * - Concurrency: an address may hold `maxPerAddress` open sockets, the server `maxTotal`.
 *
 * A flood (thousands of attempts in seconds, thousands of idle sockets) is refused at the
 * upgrade with a status and a reason, at the cost of a map lookup.
 *
 * @example
 * const limiter = new AddressLimiter({ burst: 500, perMinute: 1200, maxPerAddress: 1000, maxTotal: 10_000 })
 * const verdict = limiter.admit(address)
 * if ('status' in verdict) refuse(verdict.status, verdict.reason)
 * else ws.on('close', verdict.release)
 */
export class AddressLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly open = new Map<string, number>()
  private total = 0
  private sweptAt: number

  constructor(
    private readonly limits: AddressLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.sweptAt = now()
  }

  /** Open sockets in all. */
  get openConnections(): number {
    return this.total
  }

  /** Takes a new connection for `address`; the caller releases it when the socket closes. */
  admit(address: string): Admitted | Refused {
    const { burst, perMinute, maxPerAddress, maxTotal } = this.limits
    const now = this.now()
    if (now - this.sweptAt > SWEEP_MS) this.sweep(now)
    if (this.total >= maxTotal) return { status: 503, reason: `the server is full: ${maxTotal} connections are open; try again shortly` }
    const open = this.open.get(address) ?? 0
    if (open >= maxPerAddress) {
      return { status: 429, reason: `too many open connections from ${address}: the limit is ${maxPerAddress}` }
    }
    const bucket = this.refilled(address, now)
    if (bucket.tokens < 1) {
      return { status: 429, reason: `too many new connections from ${address}: at most ${burst} at once and ${perMinute} a minute` }
    }
    bucket.tokens -= 1
    this.open.set(address, open + 1)
    this.total++
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        this.total--
        const left = (this.open.get(address) ?? 1) - 1
        if (left > 0) this.open.set(address, left)
        else this.open.delete(address)
      },
    }
  }

  private refilled(address: string, now: number): Bucket {
    const { burst, perMinute } = this.limits
    let bucket = this.buckets.get(address)
    if (!bucket) {
      bucket = { tokens: burst, at: now }
      this.buckets.set(address, bucket)
      return bucket
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000)
    bucket.at = now
    return bucket
  }

  private sweep(now: number): void {
    this.sweptAt = now
    for (const address of [...this.buckets.keys()]) {
      if (this.refilled(address, now).tokens >= this.limits.burst) this.buckets.delete(address)
    }
  }
}

/** TCP connections kept beside the WebSocket limits, for page loads and keep-alive. */
const TCP_HEADROOM = 256

/**
 * The same limits one level down, on raw TCP connections: a flood of sockets that never
 * send an HTTP request (each would otherwise be held until the header timeout) is dropped
 * at accept. Per address only when the server sees its clients directly: behind a trusted
 * proxy every TCP connection comes from the proxy.
 */
export function capTcpConnections(server: Server, limits: AddressLimits & { perAddress: boolean }): void {
  server.maxConnections = limits.maxTotal + TCP_HEADROOM
  if (!limits.perAddress) return
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown'
    const count = (open.get(address) ?? 0) + 1
    if (count > limits.maxPerAddress + TCP_HEADROOM) return void socket.destroy()
    open.set(address, count)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left > 0) open.set(address, left)
      else open.delete(address)
    })
  })
}
