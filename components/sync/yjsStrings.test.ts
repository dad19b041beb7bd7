import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { installFastStrings, readAny, readString, writeAny, writeString } from './yjsStrings'

const bytesOf = (write: (e: encoding.Encoder) => void) => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

const STRINGS = [
  '',
  'a',
  'shape:geo1',
  '\u0000\u007f',
  'é',
  '日本語のテキスト',
  'emoji 🎨 pair',
  '\ud800 lone surrogate',
  '\ufeffstarts with a BOM',
  'x'.repeat(255),
  'x'.repeat(256),
  'x'.repeat(257),
  'y'.repeat(1023),
  'y'.repeat(1024),
  'y'.repeat(1025),
  'z'.repeat(20_000),
  `${'a'.repeat(300)}ü`,
]

const VALUES: unknown[] = [
  ...STRINGS,
  0,
  -0,
  1,
  -1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  0.5,
  0.1,
  3.4e38,
  1e300,
  NaN,
  Infinity,
  -Infinity,
  2n ** 63n - 1n,
  -5n,
  true,
  false,
  null,
  undefined,
  new Uint8Array([1, 2, 250]),
  [],
  {},
  [1, 'two', [3, { four: 4 }], null],
  JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'),
  { kéy: 'välue', 日本: ['ü', 'u'], nested: { deeper: { deepest: 'x'.repeat(300) } } },
  {
    id: 'shape:abc',
    typeName: 'shape',
    type: 'geo',
    x: 120.5,
    y: -3,
    rotation: 0,
    index: 'a1V',
    parentId: 'page:page',
    isLocked: false,
    opacity: 1,
    props: {
      geo: 'rectangle',
      w: 100,
      h: 100,
      color: 'black',
      richText: { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Hallo Wélt' }] }] },
    },
    meta: {},
  },
]

describe('yjsStrings: the same bytes as lib0, faster', () => {
  test.each(STRINGS.map((s) => [s.length > 40 ? `${s.slice(0, 20)}… (${s.length})` : JSON.stringify(s), s]))('string %s', (_, str) => {
    const ours = bytesOf((e) => writeString(e, str))
    expect(
      Buffer.compare(
        ours,
        bytesOf((e) => encoding.writeVarString(e, str)),
      ),
    ).toBe(0)
    const decoder = decoding.createDecoder(ours)
    expect(readString(decoder)).toBe(decoding.readVarString(decoding.createDecoder(ours)))
    expect(decoding.hasContent(decoder)).toBe(false)
  })

  test.each(VALUES.map((v, i) => [i, v]))('value %i encodes to the same bytes and decodes to the same value', (_, value) => {
    const ours = bytesOf((e) => writeAny(e, value))
    const lib0 = bytesOf((e) => encoding.writeAny(e, value as never))
    expect(Buffer.compare(ours, lib0)).toBe(0)
    const decoder = decoding.createDecoder(lib0)
    const read = readAny(decoder)
    expect(decoding.hasContent(decoder)).toBe(false)
    // The same value as lib0 reads: lib0 encodes both alike (which tells -0 from 0, NaN,
    // bigints, bytes; a `__proto__` key becomes the prototype in both).
    const theirs = decoding.readAny(decoding.createDecoder(lib0))
    expect(
      Buffer.compare(
        bytesOf((e) => encoding.writeAny(e, read as never)),
        bytesOf((e) => encoding.writeAny(e, theirs)),
      ),
    ).toBe(0)
    expect(read).toStrictEqual(theirs)
  })

  test('what lib0 refuses, ours refuses too: invalid UTF-8, a cut-off string, an unknown type', () => {
    const invalid = Uint8Array.of(119, 3, 0x61, 0xff, 0x62)
    const cut = Uint8Array.of(119, 10, 0x61, 0x62)
    const unknown = Uint8Array.of(42)
    for (const bytes of [invalid, cut, unknown]) {
      expect(() => decoding.readAny(decoding.createDecoder(bytes))).toThrow()
      expect(() => readAny(decoding.createDecoder(bytes))).toThrow()
    }
  })

  test('installed, Yjs writes the same updates as before and reads them back the same', () => {
    const doc = new Y.Doc()
    const records = doc.getArray<{ key: string; val: unknown }>('records')
    records.push(VALUES.map((val, i) => ({ key: `record:${i}`, val: val === undefined ? null : val })))
    doc.getMap('meta').set('title', 'Ünïcode title 🎨')
    doc.getText('text').insert(0, 'plain text, ünïcode')
    const before = Y.encodeStateAsUpdate(doc)
    const readByLib0 = new Y.Doc()
    Y.applyUpdate(readByLib0, before)
    const originalWriteAny = Y.UpdateEncoderV1.prototype.writeAny
    installFastStrings()
    expect(Y.UpdateEncoderV1.prototype.writeAny).not.toBe(originalWriteAny)
    expect(Buffer.compare(Y.encodeStateAsUpdate(doc), before)).toBe(0)
    const copy = new Y.Doc()
    Y.applyUpdate(copy, before)
    expect(copy.getArray('records').toJSON()).toStrictEqual(readByLib0.getArray('records').toJSON())
    expect(copy.getMap('meta').get('title')).toBe('Ünïcode title 🎨')
    expect(copy.getText('text').toString()).toBe('plain text, ünïcode')
    // An update made by a transaction (what a browser sends) is the same too.
    const updates: Uint8Array[] = []
    copy.on('update', (u: Uint8Array) => updates.push(u))
    copy.getArray('records').push([{ key: 'record:new', val: { text: 'neu & ünïcode', n: -0.25 } }])
    const other = new Y.Doc()
    Y.applyUpdate(other, before)
    Y.applyUpdate(other, updates[0]!)
    expect(other.getArray('records').toJSON()).toStrictEqual(copy.getArray('records').toJSON())
  })
})
