import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Bus, BusHandler } from './Bus'

export interface RedisBusOptions {
  /** `redis://host:6379` */
  url: string
  /** Prepended to every channel name, so deployments can share one Redis. Default `sketchroom:`. */
  prefix?: string
  /** Give up connecting after this long (and retry). Default 5 s. */
  connectTimeoutMs?: number
  /** Told when the connection drops or cannot be made; the bus keeps retrying. */
  onError?: (err: Error) => void
}

/** Message framing on the wire: the publisher's 8-byte id, then the payload. */
const ID_BYTES = 8

/**
 * A Bus on Redis pub/sub: one channel per topic, two connections (a subscribed
 * connection can do nothing else).
 *
 * Subscriptions are tracked here rather than by ioredis, so a room opened while Redis is
 * down is subscribed when it returns; `onReconnect` listeners then run anti-entropy for
 * what was published meanwhile. Publishing while Redis is down drops the message instead
 * of queueing it: the state it carried is recovered by anti-entropy, and a queue would
 * only grow.
 *
 * @example
 * const bus = new RedisBus({ url: 'redis://127.0.0.1:6379' })
 * await bus.connect()
 */
export class RedisBus implements Bus {
  readonly id: string
  private readonly idBytes = randomBytes(ID_BYTES)
  private readonly prefix: string
  private readonly pub: Redis
  private readonly sub: Redis
  private readonly handlers = new Map<string, BusHandler>()
  private readonly reconnectListeners: Array<() => void> = []
  /** Whether `sub` has been ready before: a later ready is a reconnection. */
  private wasReady = false
  private pubWasReady = false
  /** An outage ended on either connection; listeners run once both are back and subscribed. */
  private healPending = false
  private resubscribed: Promise<void> = Promise.resolve()
  private closed = false

  constructor(private readonly options: RedisBusOptions) {
    this.id = this.idBytes.toString('hex')
    this.prefix = options.prefix ?? 'sketchroom:'
    const common = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // Commands fail at once while disconnected instead of queueing (see the class comment).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Keep trying for as long as the process lives; back off to at most 1 s.
      retryStrategy: (times: number) => Math.min(times * 100, 1000),
    }
    this.pub = new Redis(options.url, { ...common, connectionName: `sketchroom-pub-${this.id}` })
    this.sub = new Redis(options.url, { ...common, autoResubscribe: false, connectionName: `sketchroom-sub-${this.id}` })
    for (const client of [this.pub, this.sub]) {
      client.on('error', (err: Error) => this.options.onError?.(err))
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.receive(channel, message))
    this.sub.on('ready', () => this.ready())
    this.pub.on('ready', () => {
      const reconnected = this.pubWasReady
      this.pubWasReady = true
      if (!reconnected) return
      // Messages published while `pub` was down were dropped: peers must be asked again.
      this.healPending = true
      void this.resubscribed.then(() => this.healIfBothReady())
    })
  }

  /** Connects both clients; rejects if Redis cannot be reached now (start-up should fail loudly). */
  async connect(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()])
  }

  async subscribe(topic: string, handler: BusHandler): Promise<void> {
    this.handlers.set(topic, handler)
    if (this.sub.status !== 'ready') return
    try {
      await this.sub.subscribe(this.channel(topic))
    } catch (err) {
      // The connection dropped under us; `ready()` subscribes again when it is back.
      this.options.onError?.(err as Error)
    }
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.handlers.delete(topic)) return
    if (this.sub.status !== 'ready') return
    try {
      await this.sub.unsubscribe(this.channel(topic))
    } catch (err) {
      // A reconnection subscribes only to the topics still wanted.
      this.options.onError?.(err as Error)
    }
  }

  publish(topic: string, message: Uint8Array): void {
    if (this.closed || this.pub.status !== 'ready') return
    const frame = Buffer.allocUnsafe(ID_BYTES + message.length)
    this.idBytes.copy(frame, 0)
    frame.set(message, ID_BYTES)
    this.pub.publish(this.channel(topic), frame).catch((err: unknown) => this.options.onError?.(err as Error))
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.handlers.clear()
    await Promise.all([quit(this.pub), quit(this.sub)])
  }

  private channel(topic: string): string {
    return this.prefix + topic
  }

  private receive(channel: Buffer, message: Buffer): void {
    if (message.length < ID_BYTES) return
    // Redis sends our own publications back to us; an instance has them already.
    if (this.idBytes.equals(message.subarray(0, ID_BYTES))) return
    const topic = channel.toString('utf8').slice(this.prefix.length)
    const handler = this.handlers.get(topic)
    if (!handler) return
    const from = message.subarray(0, ID_BYTES).toString('hex')
    try {
      handler(new Uint8Array(message.buffer, message.byteOffset + ID_BYTES, message.length - ID_BYTES), from)
    } catch (err) {
      // A handler that throws must not take the connection's event loop (and the process) down.
      this.options.onError?.(err as Error)
    }
  }

  private ready(): void {
    const reconnected = this.wasReady
    this.wasReady = true
    const channels = [...this.handlers.keys()].map((t) => this.channel(t))
    this.resubscribed =
      channels.length > 0
        ? this.sub.subscribe(...channels).then(
            () => undefined,
            (err: unknown) => this.options.onError?.(err as Error),
          )
        : Promise.resolve()
    if (!reconnected) return
    this.healPending = true
    // Listeners ask peers for what was missed, so they must be listening first.
    void this.resubscribed.then(() => this.healIfBothReady())
  }

  /**
   * Runs the reconnect listeners once per outage, when both connections are back: their
   * questions to peers are publishes, which `pub` would drop while still reconnecting.
   * If `pub` is the later one, its own ready event calls this again.
   */
  private healIfBothReady(): void {
    if (!this.healPending || this.closed || this.pub.status !== 'ready' || this.sub.status !== 'ready') return
    this.healPending = false
    for (const listener of this.reconnectListeners) {
      try {
        listener()
      } catch (err) {
        this.options.onError?.(err as Error)
      }
    }
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return
  try {
    await client.quit()
  } catch {
    // Not connected: nothing to say goodbye to.
    client.disconnect()
  }
}
