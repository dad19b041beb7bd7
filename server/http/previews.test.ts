import { describe, expect, test } from 'vitest'
import { MAX_PREVIEW_SIDE, previewImageInfo } from './previews'

const riff = (chunk: string, body: number[]) => {
  const out = Buffer.alloc(32)
  out.write('RIFF', 0, 'ascii')
  out.writeUInt32LE(24, 4)
  out.write(`WEBP${chunk}`, 8, 'ascii')
  Buffer.from(body).copy(out, 16)
  return out
}

describe('previewImageInfo', () => {
  test('a PNG by its IHDR', () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000002800000019008060000', 'hex')
    expect(previewImageInfo(png)).toEqual({ type: 'image/png', width: 640, height: 400 })
    // The signature alone, or a wrong one, is not a preview.
    expect(previewImageInfo(png.subarray(0, 8))).toBeNull()
    expect(previewImageInfo(Buffer.from(png).fill(0x51, 1, 2))).toBeNull()
  })

  test('lossy, lossless and extended WebP', () => {
    // VP8: frame tag (3 bytes), start code 9d 01 2a, then width and height (14 bits each).
    expect(previewImageInfo(riff('VP8 ', [0, 0, 0, 0, 0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x90, 0x01]))).toEqual({
      type: 'image/webp',
      width: 640,
      height: 400,
    })
    // VP8L: signature 0x2f, then width-1 and height-1 in 14 bits each.
    const bits = 639 | (399 << 14)
    expect(
      previewImageInfo(riff('VP8L', [0, 0, 0, 0, 0x2f, bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, (bits >> 24) & 0xff])),
    ).toEqual({
      type: 'image/webp',
      width: 640,
      height: 400,
    })
    // VP8X: flags, reserved, then canvas width-1 and height-1 in 24 bits each.
    expect(previewImageInfo(riff('VP8X', [10, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0x02, 0, 0x8f, 0x01, 0]))).toEqual({
      type: 'image/webp',
      width: 640,
      height: 400,
    })
  })

  test('anything else, or too big a picture, is not a preview', () => {
    expect(previewImageInfo(Buffer.from('ffd8ffe000104a4649460001010000000000000000000000', 'hex'))).toBeNull()
    expect(previewImageInfo(Buffer.from('GIF89a\x02\x00\x01\x00'.padEnd(32, '\0')))).toBeNull()
    expect(previewImageInfo(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull()
    expect(previewImageInfo(riff('VP8 ', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x02, 0x90, 0x01]))).toBeNull()
    const huge = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
    const size = Buffer.alloc(8)
    size.writeUInt32BE(MAX_PREVIEW_SIDE + 1, 0)
    size.writeUInt32BE(10, 4)
    expect(previewImageInfo(Buffer.concat([huge, size]))).toBeNull()
  })
})
