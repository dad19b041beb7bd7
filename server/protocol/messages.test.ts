import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import {
  encodeAwareness,
  encodeAwarenessRemoval,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  KEEPALIVE_FRAME,
  parseAwarenessUpdate,
  parseMessage,
} from './messages'

function entry(clientId: number, clock: number, state: string): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, clientId)
  encoding.writeVarUint(e, clock)
  encoding.writeVarString(e, state)
  return encoding.toUint8Array(e)
}

describe('messages', () => {
  test('sync frames round-trip', () => {
    const payload = Uint8Array.of(1, 2, 3, 250)
    expect(parseMessage(encodeSyncStep1(payload))).toEqual({ type: 'sync-step1', stateVector: payload })
    expect(parseMessage(encodeSyncStep2(payload))).toEqual({ type: 'sync-step2', update: payload })
    expect(parseMessage(encodeUpdate(payload))).toEqual({ type: 'sync-update', update: payload })
  })

  test.each([0, 1, 127, 128, 16_383, 16_384, 2_097_152])('frames of %i payload bytes are byte for byte what lib0 encodes', (size) => {
    const payload = new Uint8Array(size).map((_, i) => i % 251)
    const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.compare(a, b)).toBe(0)
    const lib0 = encoding.createEncoder()
    encoding.writeVarUint(lib0, 0)
    encoding.writeVarUint(lib0, 2)
    encoding.writeVarUint8Array(lib0, payload)
    same(encodeUpdate(payload), encoding.toUint8Array(lib0))
    const entries = [payload, Uint8Array.of(7, 8)]
    const inner = encoding.createEncoder()
    encoding.writeVarUint(inner, entries.length)
    for (const e of entries) encoding.writeUint8Array(inner, e)
    const awareness = encoding.createEncoder()
    encoding.writeVarUint(awareness, 1)
    encoding.writeVarUint8Array(awareness, encoding.toUint8Array(inner))
    same(encodeAwareness(entries), encoding.toUint8Array(awareness))
  })

  test('awareness frames carry raw entries; re-encoding is byte-identical', () => {
    const entries = [entry(1, 3, '{"user":{"name":"Ada"}}'), entry(300_000, 1, 'null')]
    const frame = encodeAwareness(entries)
    const parsed = parseMessage(frame)
    expect(parsed.type).toBe('awareness')
    if (parsed.type !== 'awareness') return
    expect(parsed.entries.map((e) => [e.clientId, e.clock, e.removed])).toEqual([
      [1, 3, false],
      [300_000, 1, true],
    ])
    expect(encodeAwareness(parsed.entries.map((e) => e.bytes))).toEqual(frame)
    expect(parseAwarenessUpdate(Uint8Array.of(1, ...encodeAwarenessRemoval(7, 4)))[0]).toMatchObject({
      clientId: 7,
      clock: 5,
      removed: true,
    })
  })

  test('the keep-alive frame is an empty awareness update', () => {
    expect(parseMessage(KEEPALIVE_FRAME)).toEqual({ type: 'awareness', entries: [] })
  })

  test('permission denied is an auth message with a reason', () => {
    expect(parseMessage(encodePermissionDenied('read-only'))).toEqual({ type: 'auth' })
  })

  test.each([
    ['empty frame', Uint8Array.of()],
    ['truncated varint', Uint8Array.of(0xff)],
    ['sync without subtype', Uint8Array.of(0)],
    ['length beyond the frame', Uint8Array.of(0, 2, 5, 1)],
    ['trailing bytes', Uint8Array.of(0, 2, 1, 1, 9)],
    ['unknown sync subtype', Uint8Array.of(0, 3, 0)],
    ['awareness count too large', Uint8Array.of(1, 1, 100)],
  ])('refuses %s with a malformed-message SyncError', (_name, frame) => {
    expect(() => parseMessage(frame)).toThrow(/malformed message/)
  })

  test('unknown top-level types are reported, not refused', () => {
    expect(parseMessage(Uint8Array.of(99, 1, 2))).toEqual({ type: 'unknown', messageType: 99 })
  })
})
