import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import { BusMessage, encodeBusRestored, parseBusMessage } from './busMessages'

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
