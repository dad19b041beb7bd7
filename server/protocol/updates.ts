/**
 * The strict check of a Yjs update, before it touches any document.
 *
 * A y-websocket sync message carries an update as opaque bytes. Yjs itself is lenient:
 * a v2 update, or garbage, often decodes as a short v1 update with bytes left over, and
 * an update can be applied half before it throws. The server refuses such input whole, so
 * it decodes every update once, with a decoder that remembers how far it read, before
 * applying it. Pure: no documents, no I/O.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { SyncError } from '../errors'

/** Remembers its byte decoder, so we can tell whether decoding used every byte. */
class StrictDecoderV1 extends Y.UpdateDecoderV1 {
  static last: decoding.Decoder | null = null
  constructor(decoder: decoding.Decoder) {
    super(decoder)
    StrictDecoderV1.last = decoder
  }
}

/**
 * Throws SyncError('malformed') unless `update` decodes as exactly one Yjs v1 update.
 * `empty` says it holds no structs and no deletions (every client's first sync step 2 to
 * a board it lacks nothing of).
 *
 * @example
 * if (checkUpdateV1(bytes).empty) return
 * Y.applyUpdate(doc, bytes)
 */
export function checkUpdateV1(update: Uint8Array): { empty: boolean } {
  let rest: decoding.Decoder | null
  let empty: boolean
  try {
    StrictDecoderV1.last = null
    const decoded = Y.decodeUpdateV2(update, StrictDecoderV1)
    empty = decoded.structs.length === 0 && decoded.ds.clients.size === 0
    rest = StrictDecoderV1.last
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err)
    throw new SyncError('malformed', `malformed message: update does not decode (${detail})`, { cause: err })
  }
  if (rest && decoding.hasContent(rest)) {
    throw new SyncError('malformed', 'malformed message: not a Yjs v1 update (bytes left over after decoding)')
  }
  return { empty }
}

/** Whether a transaction added structs or deleted any: Yjs's own test before it encodes an update. */
export function transactionChanged(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true
  for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) return true
  return false
}

/** A state vector that names no client: the asker has nothing yet. */
export function isEmptyStateVector(stateVector: Uint8Array): boolean {
  return stateVector.length === 1 && stateVector[0] === 0
}

/**
 * `bytes` as a buffer of its own. `ws` hands out views into larger buffers, and a Y.Doc
 * may keep what it is given.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : bytes.slice()
}
