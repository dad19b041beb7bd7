/**
 * The messages sync instances exchange about a room over a Bus (Redis pub/sub). Pure
 * encode/decode, no I/O; the Replicator decides what to send and when.
 *
 * Every message starts with a varUint type:
 *
 *   0 Update          varByteArray(Yjs v1 update) — stored by the sender already: apply
 *                     and relay, never store again
 *   1 Awareness       varByteArray(y-protocols awareness update) — the sender's clients
 *   2 State           varByteArray(state vector) varByteArray(delete-set digest) varUint(flags)
 *                     — anti-entropy: what the sender has; a receiver that has more
 *                     answers with a Repair, one that has less answers with its own State
 *   3 AwarenessQuery  (empty) — a room just opened: every instance answers with Awareness
 *   4 BoardChanged    (empty) — the board's catalog row changed (its links were reset, it
 *                     went to the trash or came back): read it again
 *   5 Restored        varString(JSON {by, versionCreatedAt}) — someone restored a version
 *                     through the sender (its change comes as an Update): tell your clients
 *   6 Repair          varByteArray(Yjs v1 update) — anti-entropy's answer, from the sender's
 *                     document, which may hold what the sender has not stored yet: store
 *                     what it brings, then relay it (an instance before this type ignores
 *                     it, and heals from the store)
 *
 * Pub/sub delivers at most once, so nothing here is acknowledged: State messages heal
 * what is lost. Unknown types are ignored (a newer instance during a rolling upgrade).
 * Nothing read from the bus is trusted: `parseBusMessage` throws on anything malformed,
 * and the receiver drops it.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { BoardEvent } from '../../lib/protocol'
import { type AwarenessEntry, lengthPrefixed, parseAwarenessUpdate } from './messages'
import { checkUpdateV1 } from './updates'

/** First varUint of a bus message. */
export const BusMessage = {
  Update: 0,
  Awareness: 1,
  State: 2,
  AwarenessQuery: 3,
  BoardChanged: 4,
  Restored: 5,
  Repair: 6,
} as const

/** Flags of a State message. */
export const StateFlag = {
  /** Answer with your own State (so the sender learns what it lacks). */
  WantReply: 1,
  /**
   * Compare with your state now: sent after a load or a reconnection, when anything may be
   * missing. Without it (the periodic check) only what the receiver had a whole interval
   * ago counts as missing, so updates merely in flight do not trigger repairs.
   */
  Exact: 2,
} as const

/** What a room knows, for anti-entropy: its state vector and a hash of its delete set. */
export interface StateDigest {
  stateVector: Uint8Array
  deleteSetHash: Uint8Array
}

export type BusMessageIn =
  | { type: 'update'; update: Uint8Array }
  | { type: 'repair'; update: Uint8Array }
  | { type: 'awareness'; entries: AwarenessEntry[] }
  | { type: 'state'; stateVector: Uint8Array; deleteSetHash: Uint8Array; flags: number }
  | { type: 'awareness-query' }
  | { type: 'board-changed' }
  | ({ type: 'restored' } & BoardEvent['restored'])
  | { type: 'unknown'; messageType: number }

/** Decodes one bus message; throws on anything malformed. */
export function parseBusMessage(message: Uint8Array): BusMessageIn {
  const decoder = decoding.createDecoder(message)
  const type = decoding.readVarUint(decoder)
  switch (type) {
    case BusMessage.Update:
    case BusMessage.Repair: {
      const update = decoding.readVarUint8Array(decoder)
      checkUpdateV1(update)
      return { type: type === BusMessage.Update ? 'update' : 'repair', update }
    }
    case BusMessage.Awareness:
      return { type: 'awareness', entries: parseAwarenessUpdate(decoding.readVarUint8Array(decoder)) }
    case BusMessage.State: {
      const stateVector = decoding.readVarUint8Array(decoder)
      const deleteSetHash = decoding.readVarUint8Array(decoder)
      const flags = decoding.readVarUint(decoder)
      // Decoded once here, so a vector that does not decode is refused with the message.
      Y.decodeStateVector(stateVector)
      return { type: 'state', stateVector, deleteSetHash, flags }
    }
    case BusMessage.AwarenessQuery:
      return { type: 'awareness-query' }
    case BusMessage.BoardChanged:
      return { type: 'board-changed' }
    case BusMessage.Restored: {
      const { by, versionCreatedAt } = JSON.parse(decoding.readVarString(decoder)) as { by?: unknown; versionCreatedAt?: unknown }
      if (
        (by !== null && (typeof by !== 'string' || by.length > MAX_RESTORER_NAME)) ||
        typeof versionCreatedAt !== 'number' ||
        !Number.isFinite(versionCreatedAt)
      ) {
        throw new Error('a Restored message must carry {by: string | null, versionCreatedAt: number}')
      }
      return { type: 'restored', by, versionCreatedAt }
    }
    default:
      return { type: 'unknown', messageType: type }
  }
}

function withPayload(type: number, payload: Uint8Array): Uint8Array {
  return lengthPrefixed([type], [], [payload])
}

export const encodeBusUpdate = (update: Uint8Array): Uint8Array => withPayload(BusMessage.Update, update)

/** Anti-entropy's answer: may hold what the sender has not stored, so the receiver stores it. */
export const encodeBusRepair = (update: Uint8Array): Uint8Array => withPayload(BusMessage.Repair, update)

/** An Awareness message from raw awareness entries (as `parseAwarenessUpdate` gives them). */
export const encodeBusAwareness = (entries: Iterable<Uint8Array>): Uint8Array =>
  withPayload(BusMessage.Awareness, encodeAwarenessPayload(entries))

export function encodeBusState(digest: StateDigest, flags: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, BusMessage.State)
  encoding.writeVarUint8Array(encoder, digest.stateVector)
  encoding.writeVarUint8Array(encoder, digest.deleteSetHash)
  encoding.writeVarUint(encoder, flags)
  return encoding.toUint8Array(encoder)
}

export const BUS_AWARENESS_QUERY: Uint8Array = Uint8Array.of(BusMessage.AwarenessQuery)

export const BUS_BOARD_CHANGED: Uint8Array = Uint8Array.of(BusMessage.BoardChanged)

/** The longest restorer's name a Restored message may carry (the history API's own cap). */
const MAX_RESTORER_NAME = 100

export function encodeBusRestored(event: BoardEvent['restored']): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, BusMessage.Restored)
  encoding.writeVarString(encoder, JSON.stringify({ by: event.by, versionCreatedAt: event.versionCreatedAt }))
  return encoding.toUint8Array(encoder)
}

/** An awareness update in y-protocols format (count, then entries) from raw entries. */
export function encodeAwarenessPayload(entries: Iterable<Uint8Array>): Uint8Array {
  const list = [...entries]
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, list.length)
  for (const entry of list) encoding.writeUint8Array(encoder, entry)
  return encoding.toUint8Array(encoder)
}
