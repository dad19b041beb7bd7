import type { Bus, BusHandler } from './Bus'

/**
 * Buses for sync servers that share one process (tests, embedding): every bus made by a
 * hub reaches the others. `cut` and `restore` stand for a broker outage, so replication
 * can be tested without one.
 *
 * @example
 * const hub = new InProcessHub()
 * const a = hub.bus(), b = hub.bus()
 */
export class InProcessHub {
  private readonly buses = new Set<InProcessBus>()
  private nextId = 1

  bus(): InProcessBus {
    const bus = new InProcessBus(`in-process-${this.nextId++}`, this)
    this.buses.add(bus)
    return bus
  }

  /** @internal */
  deliver(from: InProcessBus, topic: string, message: Uint8Array): void {
    if (from.isCut) return
    for (const bus of this.buses) if (bus !== from) bus.receive(topic, message, from.id)
  }

  /** @internal */
  remove(bus: InProcessBus): void {
    this.buses.delete(bus)
  }
}

export class InProcessBus implements Bus {
  private readonly handlers = new Map<string, BusHandler>()
  private readonly reconnectListeners: Array<() => void> = []
  private cut = false
  private losing = false
  private closed = false

  constructor(
    readonly id: string,
    private readonly hub: InProcessHub,
  ) {}

  get isCut(): boolean {
    return this.cut
  }

  async subscribe(topic: string, handler: BusHandler): Promise<void> {
    this.handlers.set(topic, handler)
  }

  async unsubscribe(topic: string): Promise<void> {
    this.handlers.delete(topic)
  }

  publish(topic: string, message: Uint8Array): void {
    if (this.closed || this.losing || this.cut) return
    // Copy: the caller may reuse its buffer, as it may with a network bus.
    const copy = message.slice()
    // Asynchronous like a network hop, so tests see the same interleavings.
    setImmediate(() => this.hub.deliver(this, topic, copy))
  }

  /** @internal */
  receive(topic: string, message: Uint8Array, from: string): void {
    if (this.cut || this.closed) return
    this.handlers.get(topic)?.(message, from)
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener)
  }

  /**
   * Drops what this bus publishes, silently: no outage, no reconnect event. What
   * at-most-once delivery does now and then.
   */
  loseMessages(lose: boolean): void {
    this.losing = lose
  }

  /** Drops everything to and from this bus until `restore`. */
  cutOff(): void {
    this.cut = true
  }

  restore(): void {
    if (!this.cut) return
    this.cut = false
    for (const listener of this.reconnectListeners) listener()
  }

  async close(): Promise<void> {
    this.closed = true
    this.handlers.clear()
    this.hub.remove(this)
  }
}
