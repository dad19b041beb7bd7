/**
 * How sync instances tell each other about a room: publish/subscribe on one topic per
 * room. Delivery is at most once and may stop for a while (the broker restarts, the
 * network drops); the Replicator heals what was lost, so a Bus only has to be fast.
 * Every implementation runs the same contract suite (`server/Bus.contract.ts`).
 *
 * @example
 * await bus.subscribe('room:abc', (message, from) => apply(message))
 * bus.publish('room:abc', bytes)   // reaches every other instance subscribed to room:abc
 */
export interface Bus {
  /** This instance on the bus; what subscribers of its messages get as `from`. */
  readonly id: string
  /**
   * Delivers messages other instances publish on `topic` (never this instance's own).
   * Resolves once subscribed, or once the bus is known to be down: the subscription is
   * then made when it comes back, and `onReconnect` listeners are told.
   */
  subscribe(topic: string, handler: BusHandler): Promise<void>
  unsubscribe(topic: string): Promise<void>
  /** Fire and forget: a message published while the bus is down is dropped, not queued. */
  publish(topic: string, message: Uint8Array): void
  /** Called each time the bus comes back after being down: messages may have been lost. */
  onReconnect(listener: () => void): void
  close(): Promise<void>
}

export type BusHandler = (message: Uint8Array, from: string) => void
