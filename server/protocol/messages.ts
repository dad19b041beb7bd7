/**
 * Pure encode/decode of y-websocket v1 frames: no I/O, no Yjs documents.
 *
 * Decoding is strict: a frame must hold exactly one well-formed message, or
 * `parseMessage` throws a {@link SyncError} with reason `malformed`, which the
 * connection turns into a 4400 close with the message's text.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { AuthType, type BoardEvent, type BoardStatus, MessageType, SyncType } from '../../lib/protocol'
import { SyncError } from '../errors'

/** One client's entry in an awareness update, kept as raw bytes so relaying never re-encodes. */
export interface AwarenessEntry {
  clientId: number
  clock: number
  /** True when the state is JSON `null`: the client left. */
  removed: boolean
  /** The entry exactly as encoded: varUint clientId, varUint clock, varString state. */
  bytes: Uint8Array
  /** Decodes the state's JSON text (only when someone needs to look inside). */
  state(): string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export type IncomingMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; entries: AwarenessEntry[] }
  | { type: 'query-awareness' }
  | { type: 'auth' }
  | { type: 'unknown'; messageType: number }

function malformed(what: string, cause?: unknown): SyncError {
  const detail = cause instanceof Error ? `: ${cause.message}` : ''
  return new SyncError('malformed', `malformed message: ${what}${detail}`)
}

function expectEnd(decoder: decoding.Decoder, what: string): void {
  if (decoding.hasContent(decoder)) {
    throw malformed(`${decoder.arr.length - decoder.pos} trailing bytes after ${what}`)
  }
}

// lib0 reads past the end without complaint in some paths; check lengths ourselves.
function readBytes(decoder: decoding.Decoder, what: string): Uint8Array {
  const len = readUint(decoder, `${what} length`)
  if (len > decoder.arr.length - decoder.pos) {
    throw malformed(`${what} claims ${len} bytes but only ${decoder.arr.length - decoder.pos} remain`)
  }
  const out = decoder.arr.subarray(decoder.pos, decoder.pos + len)
  decoder.pos += len
  return out
}

function readUint(decoder: decoding.Decoder, what: string): number {
  if (!decoding.hasContent(decoder)) throw malformed(`missing ${what}`)
  try {
    return decoding.readVarUint(decoder)
  } catch (err) {
    throw malformed(`truncated ${what}`, err)
  }
}

/** Splits an awareness update (y-protocols format) into its raw entries. Throws on bad framing. */
export function parseAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update)
  const count = readUint(decoder, 'awareness entry count')
  // Each entry takes at least 3 bytes; refuse counts the payload cannot hold before allocating.
  if (count > update.length) throw malformed(`awareness update claims ${count} entries`)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const start = decoder.pos
    const clientId = readUint(decoder, 'awareness client id')
    const clock = readUint(decoder, 'awareness clock')
    const state = readBytes(decoder, 'awareness state')
    const removed = state.length === 4 && state[0] === 0x6e && state[1] === 0x75 && state[2] === 0x6c && state[3] === 0x6c
    entries.push({ clientId, clock, removed, bytes: update.subarray(start, decoder.pos), state: () => utf8.decode(state) })
  }
  expectEnd(decoder, 'awareness update')
  return entries
}

/** Decodes one frame. Throws SyncError('malformed') for anything that is not exactly one message. */
export function parseMessage(frame: Uint8Array): IncomingMessage {
  const decoder = decoding.createDecoder(frame)
  const messageType = readUint(decoder, 'message type')
  switch (messageType) {
    case MessageType.Sync: {
      const syncType = readUint(decoder, 'sync message type')
      const payload = readBytes(decoder, 'sync payload')
      expectEnd(decoder, 'sync message')
      switch (syncType) {
        case SyncType.Step1:
          return { type: 'sync-step1', stateVector: payload }
        case SyncType.Step2:
          return { type: 'sync-step2', update: payload }
        case SyncType.Update:
          return { type: 'sync-update', update: payload }
        default:
          throw malformed(`unknown sync message type ${syncType}`)
      }
    }
    case MessageType.Awareness: {
      const payload = readBytes(decoder, 'awareness payload')
      expectEnd(decoder, 'awareness message')
      return { type: 'awareness', entries: parseAwarenessUpdate(payload) }
    }
    case MessageType.QueryAwareness:
      return { type: 'query-awareness' }
    case MessageType.Auth:
      return { type: 'auth' }
    default:
      // Newer clients may speak extensions we do not know; ignoring them keeps them working.
      return { type: 'unknown', messageType }
  }
}

function syncFrame(syncType: number, payload: Uint8Array): Uint8Array {
  return lengthPrefixed([MessageType.Sync, syncType], [], [payload])
}

const varUintSize = (n: number): number => {
  let size = 1
  for (; n > 0x7f; size++) n = Math.floor(n / 0x80)
  return size
}

const putVarUint = (out: Uint8Array, at: number, n: number): number => {
  for (; n > 0x7f; n = Math.floor(n / 0x80)) out[at++] = 0x80 | (n & 0x7f)
  out[at++] = n
  return at
}

/**
 * A frame as lib0 would encode it: the varUints of `head`, then a varUint8Array holding
 * the varUints of `inner` and the bytes of `parts`, in one allocation of the frame's exact
 * size. (lib0's encoder starts at 100 bytes and grows, which costs a copy or two per
 * frame; the server makes one per update and per awareness flush.)
 */
export function lengthPrefixed(head: number[], inner: number[], parts: Uint8Array[]): Uint8Array {
  let innerSize = 0
  for (const n of inner) innerSize += varUintSize(n)
  for (const part of parts) innerSize += part.length
  let size = varUintSize(innerSize) + innerSize
  for (const n of head) size += varUintSize(n)
  const out = new Uint8Array(size)
  let at = 0
  for (const n of head) at = putVarUint(out, at, n)
  at = putVarUint(out, at, innerSize)
  for (const n of inner) at = putVarUint(out, at, n)
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array => syncFrame(SyncType.Step1, stateVector)
export const encodeSyncStep2 = (update: Uint8Array): Uint8Array => syncFrame(SyncType.Step2, update)
export const encodeUpdate = (update: Uint8Array): Uint8Array => syncFrame(SyncType.Update, update)

/** An awareness frame built from raw entries, without decoding their states. */
export function encodeAwareness(entries: Iterable<Uint8Array>): Uint8Array {
  const list = Array.isArray(entries) ? (entries as Uint8Array[]) : [...entries]
  return lengthPrefixed([MessageType.Awareness], [list.length], list)
}

/** The entry that tells peers a client left: its clock + 1 and state `null`. */
export function encodeAwarenessRemoval(clientId: number, clock: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, clientId)
  encoding.writeVarUint(encoder, clock + 1)
  encoding.writeVarString(encoder, 'null')
  return encoding.toUint8Array(encoder)
}

/** An empty awareness update: a harmless frame that keeps an idle client's watchdog fed. */
export const KEEPALIVE_FRAME: Uint8Array = encodeAwareness([])

/** sketchroom's Status message (see lib/protocol.ts): only for clients that asked. */
export function encodeStatus(status: BoardStatus | BoardEvent): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Status)
  encoding.writeVarString(encoder, JSON.stringify(status))
  return encoding.toUint8Array(encoder)
}

export function encodePermissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Auth)
  encoding.writeVarUint(encoder, AuthType.PermissionDenied)
  encoding.writeVarString(encoder, reason)
  return encoding.toUint8Array(encoder)
}
