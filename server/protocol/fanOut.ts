/**
 * Sends one event-loop turn's messages of a room to its peers without echoing anyone's
 * own message back, at a cost that stays near "encode once" however many peers sent.
 *
 * Peers that sent nothing get one frame holding everything. A sender must get everything
 * except its own part. Building that per sender costs senders × total; instead we build a
 * merge tree over the senders: a sender gets the merged parts of the sibling subtrees on
 * its path, at most ⌈log₂ senders⌉ frames, and each tree level costs one pass over the
 * total. (Hocuspocus sends the sender its own messages back; the reference server echoes
 * every message.)
 */
export interface FanOutCodec<T> {
  /** The part of one sender (its items, in order). */
  leaf(items: Uint8Array[]): T
  /** Two parts as one. */
  combine(a: T, b: T): T
  /** A part as a frame to send. */
  frame(part: T): Uint8Array
}

export interface Outgoing<C> {
  from: C | null
  item: Uint8Array
}

/**
 * @example
 * fanOut(pending, room.connections, updateCodec, (conn, frame) => conn.send(frame))
 */
export function fanOut<C>(
  outgoing: Outgoing<C>[],
  recipients: Iterable<C>,
  codec: FanOutCodec<unknown>,
  send: (to: C, frame: Uint8Array) => void,
): void {
  if (outgoing.length === 0) return
  // Group by sender, keeping each sender's order. Messages with no sender (corrections,
  // other instances) form a group no recipient owns.
  const groups = new Map<C | null, Uint8Array[]>()
  for (const { from, item } of outgoing) {
    const list = groups.get(from)
    if (list) list.push(item)
    else groups.set(from, [item])
  }
  const senders = [...groups.keys()]
  const index = new Map<C | null, number>(senders.map((s, i) => [s, i]))
  const parts = new Map<string, unknown>()
  const frames = new Map<string, Uint8Array>()

  const part = (lo: number, hi: number): unknown => {
    const key = `${lo}:${hi}`
    let p = parts.get(key)
    if (p === undefined) {
      if (hi - lo === 1) p = codec.leaf(groups.get(senders[lo]!)!)
      else {
        const mid = (lo + hi) >>> 1
        p = codec.combine(part(lo, mid), part(mid, hi))
      }
      parts.set(key, p)
    }
    return p
  }
  const frame = (lo: number, hi: number): Uint8Array => {
    const key = `${lo}:${hi}`
    let f = frames.get(key)
    if (!f) frames.set(key, (f = codec.frame(part(lo, hi))))
    return f
  }

  for (const to of recipients) {
    const i = index.get(to)
    if (i === undefined) {
      send(to, frame(0, senders.length))
      continue
    }
    // Walk from the root to this sender's leaf, sending the sibling range at each level.
    let lo = 0
    let hi = senders.length
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      if (i < mid) {
        send(to, frame(mid, hi))
        hi = mid
      } else {
        send(to, frame(lo, mid))
        lo = mid
      }
    }
  }
}
