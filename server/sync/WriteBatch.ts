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

  /** `endOfTurn` runs the release once this turn's work is done (the FlushScheduler's, in the server). */
  constructor(private readonly endOfTurn: (release: () => void) => void = (release) => void setImmediate(release)) {}

  hold(transport: Corkable): void {
    if (this.held.has(transport)) return
    if (this.held.size === 0) this.endOfTurn(this.release)
    transport.cork()
    this.held.add(transport)
  }

  private readonly release = (): void => {
    const held = this.held
    this.held = new Set()
    for (const transport of held) transport.uncork()
  }
}
