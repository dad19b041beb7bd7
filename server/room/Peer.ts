/**
 * What a room needs of one connection. `sync/Connection` is the real one; the room core
 * knows nothing of sockets, so its tests drive it with fake sockets and no network.
 */
export interface Peer {
  readonly id: number
  /** Came through a view-only link: may read and show a cursor, never write. */
  readonly readOnly: boolean
  /** The link generation of the token it came with; null when it came with the room id. */
  readonly linkGeneration: number | null
  /** Asked for sketchroom's Status messages (a stock client would log them as errors). */
  readonly wantsStatus: boolean
  /** Closed or closing: what is sent to it is dropped. */
  readonly closed: boolean
  /** Sends one frame unless the peer is gone or stopped reading; false if not sent. */
  send(frame: Uint8Array): boolean
  close(code: number, reason: string): void
  /** It sent sync step 1: a real client, not a socket held open for nothing. */
  handshakeDone(): void
  /** Refused messages so far. */
  readonly offences: number
  /** Counts `count` refused messages; true once it has more than it may. */
  offend(count?: number): boolean
  /** True only the first time: a view-only client is told once that its writes are refused. */
  firstDeniedWrite(): boolean
}
