/**
 * Faster coding of the strings in Yjs updates, in the browser, to exactly the same bytes.
 *
 * A tldraw record lives in the document as one plain value (lib0's "any" encoding), so
 * each of its ~40 keys and strings is coded on its own, and lib0 codes each one with a
 * `TextEncoder.encodeInto` or `TextDecoder.decode` call. In Chromium that call costs more
 * than a short string itself: coding a 5,000-shape board spent most of its time there
 * (bench/README.md, "Third pass … strings"). Short ASCII strings, nearly all of a board's, are coded
 * here in plain JavaScript; every other string and every other value is handed to lib0,
 * so what is written and read is byte for byte what lib0 writes and reads.
 *
 * `installFastStrings()` puts these on Yjs's v1 update encoder and decoder, the format
 * y-websocket and y-indexeddb use, for every document of the page. This is the one module
 * that replaces Yjs methods; it relies on `UpdateEncoderV1`/`UpdateDecoderV1` coding
 * content values through `writeAny`/`readAny` and strings and keys through
 * `writeString`/`readString` and `writeKey`/`readKey` on their `restEncoder`/`restDecoder`
 * (Yjs 13.6). The server keeps lib0's own coding: its strict check reads what it is sent.
 *
 * @example
 * installFastStrings() // once, before the first document is decoded
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/** Strings up to this many characters are tried as ASCII; longer ones go to lib0. */
const MAX_FAST_WRITE = 1024
/** Decoding: above this length lib0's TextDecoder call is as fast as the loop. */
const MAX_FAST_READ = 256

const scratch = new Uint8Array(MAX_FAST_WRITE)

/** lib0's `writeVarString`, without a TextEncoder call for a short ASCII string. */
export function writeString(encoder: encoding.Encoder, str: string): void {
  const length = str.length
  if (length <= MAX_FAST_WRITE) {
    let i = 0
    for (; i < length; i++) {
      const code = str.charCodeAt(i)
      if (code > 0x7f) break
      scratch[i] = code
    }
    if (i === length) {
      encoding.writeVarUint(encoder, length)
      encoding.writeUint8Array(encoder, scratch.subarray(0, length))
      return
    }
  }
  encoding.writeVarString(encoder, str)
}

/** lib0's `readVarString`, without a TextDecoder call for a short ASCII string. */
export function readString(decoder: decoding.Decoder): string {
  const start = decoder.pos
  const length = decoding.readVarUint(decoder)
  const bytes = decoder.arr
  const from = decoder.pos
  const end = from + length
  if (length <= MAX_FAST_READ && end <= bytes.length) {
    let i = from
    while (i < end && bytes[i]! <= 0x7f) i++
    if (i === end) {
      decoder.pos = end
      return String.fromCharCode.apply(null, bytes.subarray(from, end) as unknown as number[])
    }
  }
  decoder.pos = start
  return decoding.readVarString(decoder)
}

/** lib0's `writeAny`, type byte for type byte, with strings and keys through `writeString`. */
export function writeAny(encoder: encoding.Encoder, value: unknown): void {
  switch (typeof value) {
    case 'string':
      encoding.write(encoder, 119)
      writeString(encoder, value)
      return
    case 'object':
      if (value === null || value instanceof Uint8Array) break
      if (Array.isArray(value)) {
        encoding.write(encoder, 117)
        encoding.writeVarUint(encoder, value.length)
        for (const item of value) writeAny(encoder, item)
        return
      }
      {
        const keys = Object.keys(value)
        encoding.write(encoder, 118)
        encoding.writeVarUint(encoder, keys.length)
        for (const key of keys) {
          writeString(encoder, key)
          writeAny(encoder, (value as Record<string, unknown>)[key])
        }
      }
      return
  }
  // Numbers, booleans, null, undefined, bigints, bytes: lib0 itself.
  encoding.writeAny(encoder, value as Parameters<typeof encoding.writeAny>[1])
}

/** lib0's `readAny`, with strings and keys through `readString`. */
export function readAny(decoder: decoding.Decoder): unknown {
  const type = decoder.arr[decoder.pos]
  switch (type) {
    case 119:
      decoder.pos++
      return readString(decoder)
    case 118: {
      decoder.pos++
      const length = decoding.readVarUint(decoder)
      const object: Record<string, unknown> = {}
      for (let i = 0; i < length; i++) {
        const key = readString(decoder)
        // As lib0 does: a plain assignment, `__proto__` included.
        object[key] = readAny(decoder)
      }
      return object
    }
    case 117: {
      decoder.pos++
      const length = decoding.readVarUint(decoder)
      const array: unknown[] = []
      for (let i = 0; i < length; i++) array.push(readAny(decoder))
      return array
    }
    default:
      // Every other type, and whatever lib0 refuses: lib0 itself.
      return decoding.readAny(decoder)
  }
}

let installed = false

/** Codes strings in every v1 Yjs update of the page with the functions above. Idempotent. */
export function installFastStrings(): void {
  if (installed) return
  installed = true
  type Encoder = { restEncoder: encoding.Encoder }
  type Decoder = { restDecoder: decoding.Decoder }
  const enc = Y.UpdateEncoderV1.prototype as unknown as Record<string, unknown>
  const dec = Y.UpdateDecoderV1.prototype as unknown as Record<string, unknown>
  enc.writeAny = function (this: Encoder, value: unknown) {
    writeAny(this.restEncoder, value)
  }
  enc.writeString = enc.writeKey = function (this: Encoder, str: string) {
    writeString(this.restEncoder, str)
  }
  dec.readAny = function (this: Decoder) {
    return readAny(this.restDecoder)
  }
  dec.readString = dec.readKey = function (this: Decoder) {
    return readString(this.restDecoder)
  }
}
