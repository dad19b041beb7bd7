/**
 * Sending one flush to a room's peers, never back to who sent what: the two broadcast
 * strategies (updates frame by frame in small rooms, merged in big ones) and awareness as
 * one frame.
 */
import * as Y from 'yjs'
import { type FanOutCodec, fanOut } from '../protocol/fanOut'
import { encodeAwareness, encodeUpdate } from '../protocol/messages'
import type { Peer } from './Peer'
import type { Relay } from './UpdateIntake'

export interface QueuedAwareness {
  bytes: Uint8Array
  from: Peer | null
}

/** Updates merge into one Yjs update per frame. */
const updateCodec: FanOutCodec<Uint8Array> = {
  leaf: (items) => (items.length === 1 ? items[0]! : Y.mergeUpdates(items)),
  combine: (a, b) => Y.mergeUpdates([a, b]),
  frame: encodeUpdate,
}

const sendFrame = (peer: Peer, frame: Uint8Array) => void peer.send(frame)

/**
 * Rooms up to this size get each update as its own frame; bigger ones get merged frames.
 * Measured: Y.mergeUpdates of two shape updates takes ~22 µs, a send ~1.5 µs.
 */
const MERGE_UPDATES_ABOVE_PEERS = 16

/**
 * In a room of a few peers, updates go out as they came, one frame each: a peer's frames
 * of one turn leave in one write anyway (see WriteBatch), and merging two updates costs
 * about as much as a dozen sends. In a big room the merge tree keeps a flush to a few
 * frames per peer.
 */
export function sendUpdates(peers: ReadonlySet<Peer>, updates: Relay[]): void {
  if (updates.length === 1 || peers.size <= MERGE_UPDATES_ABOVE_PEERS) {
    const frames = updates.map((u) => encodeUpdate(u.update))
    for (const peer of peers) {
      for (let i = 0; i < updates.length; i++) if (updates[i]!.from !== peer) peer.send(frames[i]!)
    }
    return
  }
  const outgoing = updates.map((u) => ({ from: u.from, item: u.update }))
  fanOut(outgoing, peers, updateCodec as FanOutCodec<unknown>, sendFrame)
}

/**
 * One frame with every changed awareness entry, to every peer. A sender's own entry rides
 * along in a frame it gets anyway, and y-protocols ignores a client's own state at the
 * same clock, so that costs bytes, never a send; a peer that sent everything in the batch
 * gets nothing. (Updates, which Yjs would apply again, never go back to their sender.)
 * Returns the local entries (those a connection sent), for replication.
 */
export function sendAwareness(peers: ReadonlySet<Peer>, pending: Iterable<QueuedAwareness>): Uint8Array[] {
  const entries: Uint8Array[] = []
  const local: Uint8Array[] = []
  let onlySender: Peer | null | undefined
  for (const p of pending) {
    entries.push(p.bytes)
    if (p.from !== null) local.push(p.bytes)
    onlySender = onlySender === undefined || onlySender === p.from ? p.from : null
  }
  const frame = encodeAwareness(entries)
  for (const peer of peers) if (peer !== onlySender) peer.send(frame)
  return local
}
