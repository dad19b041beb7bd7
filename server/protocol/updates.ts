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
import * as encoding from 'lib0/encoding'
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

/** What the strict check learned about an update. */
export interface UpdateInfo {
  /** No structs and no deletions (every client's first sync step 2 to a board it lacks nothing of). */
  empty: boolean
  /** The Yjs client ids whose structs it carries. */
  clients: number[]
  /** The ids of the shared types it creates (nested Y.Map, Y.Array…), to check how deep they sit once applied. */
  types: Y.ID[]
}

/**
 * Throws SyncError('malformed') unless `update` decodes as exactly one Yjs v1 update
 * whose values (JSON, embeds, formats) nest no deeper than `maxDepth`: a browser decodes
 * such values recursively, and one nested a few thousand deep takes its stack (and the
 * board) down, where a server's larger stack might not notice.
 *
 * @example
 * const info = checkUpdateV1(bytes, { maxDepth: 100 })
 * if (!info.empty) Y.applyUpdate(doc, bytes)
 */
export function checkUpdateV1(update: Uint8Array, options: { maxDepth?: number } = {}): UpdateInfo {
  let rest: decoding.Decoder | null
  let decoded: ReturnType<typeof Y.decodeUpdateV2>
  try {
    StrictDecoderV1.last = null
    decoded = Y.decodeUpdateV2(update, StrictDecoderV1)
    rest = StrictDecoderV1.last
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err)
    throw new SyncError('malformed', `malformed message: update does not decode (${detail})`, { cause: err })
  }
  if (rest && decoding.hasContent(rest)) {
    throw new SyncError('malformed', 'malformed message: not a Yjs v1 update (bytes left over after decoding)')
  }
  const maxDepth = options.maxDepth ?? Infinity
  const clients = new Set<number>()
  const types: Y.ID[] = []
  for (const struct of decoded.structs) {
    clients.add(struct.id.client)
    if (!(struct instanceof Y.Item)) continue
    const content = struct.content
    if (content instanceof Y.ContentType) types.push(struct.id)
    else if (maxDepth !== Infinity) {
      const depth = valueDepth(contentValues(content), maxDepth)
      if (depth > maxDepth) throw new SyncError('malformed', `malformed message: a value nests deeper than ${maxDepth} levels`)
    }
  }
  return { empty: decoded.structs.length === 0 && decoded.ds.clients.size === 0, clients: [...clients], types }
}

/** The plain values an item carries, for the depth check. */
function contentValues(content: Y.Item['content']): unknown[] {
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) return content.arr
  if (content instanceof Y.ContentEmbed) return [content.embed]
  if (content instanceof Y.ContentFormat) return [content.value]
  return []
}

/**
 * How deep the deepest of `values` nests (an array or object counts one level), measured
 * without recursion and given up on once past `limit`.
 */
export function valueDepth(values: unknown[], limit: number): number {
  let deepest = 0
  const stack: Array<{ value: unknown; depth: number }> = values.map((value) => ({ value, depth: 1 }))
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!
    if (value === null || typeof value !== 'object') continue
    if (depth > deepest) deepest = depth
    if (deepest > limit) return deepest
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 })
    }
  }
  return deepest
}

/** Whether a transaction added structs or deleted any: Yjs's own test before it encodes an update. */
export function transactionChanged(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true
  for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) return true
  return false
}

/** `transactionChanged` for a transaction that can only have moved the clocks of `clients`: O(clients), not O(board). */
export function transactionChangedFor(tr: Y.Transaction, clients: number[]): boolean {
  if (tr.deleteSet.clients.size > 0) return true
  for (const client of clients) if (tr.afterState.get(client) !== tr.beforeState.get(client)) return true
  return false
}

/**
 * A Yjs v1 update that holds only the deletions of `deleteSet` (a transaction's, say):
 * no structs, then per client its deleted ranges, as Yjs writes them.
 */
export function deletionsUpdate(deleteSet: Y.Transaction['deleteSet']): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, deleteSet.clients.size)
  for (const [client, ranges] of deleteSet.clients) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, ranges.length)
    for (const { clock, len } of ranges) {
      encoding.writeVarUint(encoder, clock)
      encoding.writeVarUint(encoder, len)
    }
  }
  return encoding.toUint8Array(encoder)
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
