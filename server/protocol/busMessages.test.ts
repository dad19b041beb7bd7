import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { BusMessage, encodeBusRepair, encodeBusRestored, encodeBusUpdate, parseBusMessage } from './busMessages'

function restoredWith(json: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, BusMessage.Restored)
  encoding.writeVarString(encoder, json)
  return encoding.toUint8Array(encoder)
}

describe('[S97] the Restored bus message', () => {
  test('round-trips who restored which version', () => {
    expect(parseBusMessage(encodeBusRestored({ by: 'Ada', versionCreatedAt: 1_700_000_000_000 }))).toEqual({
      type: 'restored',
      by: 'Ada',
      versionCreatedAt: 1_700_000_000_000,
    })
    expect(parseBusMessage(encodeBusRestored({ by: null, versionCreatedAt: 5 }))).toEqual({
      type: 'restored',
      by: null,
      versionCreatedAt: 5,
    })
  })

  test('anything else is refused (and dropped by the receiver)', () => {
    for (const json of ['{', '{"by":7,"versionCreatedAt":1}', '{"by":"Ada"}', `{"by":"${'x'.repeat(101)}","versionCreatedAt":1}`, 'null']) {
      expect(() => parseBusMessage(restoredWith(json)), json).toThrow()
    }
  })
})

describe('[S134] Update and Repair bus messages', () => {
  test('carry the same update, and say whether the sender stored it', () => {
    const doc = new Y.Doc()
    doc.getArray('list').push(['x'])
    const update = Y.encodeStateAsUpdate(doc)
    expect(parseBusMessage(encodeBusUpdate(update))).toEqual({ type: 'update', update })
    expect(parseBusMessage(encodeBusRepair(update))).toEqual({ type: 'repair', update })
  })

  test('a repair that is not a Yjs update is refused', () => {
    expect(() => parseBusMessage(encodeBusRepair(Uint8Array.of(9, 9, 9)))).toThrow()
  })
})
