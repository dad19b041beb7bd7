import { describe, expect, test } from 'vitest'
import { type FanOutCodec, fanOut } from './fanOut'

// Items are single bytes naming their sender; a frame lists the bytes it carries.
const codec: FanOutCodec<number[]> = {
  leaf: (items) => items.flatMap((i) => [...i]),
  combine: (a, b) => [...a, ...b],
  frame: (part) => Uint8Array.from(part),
}

function run(senders: number[], recipients: number[]) {
  const outgoing = senders.flatMap((s) => [
    { from: s === 0 ? null : s, item: Uint8Array.of(s) },
    { from: s === 0 ? null : s, item: Uint8Array.of(s) },
  ])
  const got = new Map<number, number[][]>()
  let combines = 0
  const counting: FanOutCodec<number[]> = { ...codec, combine: (a, b) => (combines++, codec.combine(a, b)) }
  fanOut(outgoing, recipients, counting as FanOutCodec<unknown>, (to, frame) => {
    got.set(to, [...(got.get(to) ?? []), [...frame]])
  })
  return { got, combines }
}

describe('fanOut', () => {
  test.each([1, 2, 3, 5, 8, 13, 64])('with %i senders every peer gets everything but its own messages, exactly once', (n) => {
    const senders = Array.from({ length: n }, (_, i) => i + 1)
    const recipients = [...senders, 100, 101]
    const { got, combines } = run(senders, recipients)
    for (const r of recipients) {
      const received = (got.get(r) ?? []).flat().sort((a, b) => a - b)
      const expected = senders
        .filter((s) => s !== r)
        .flatMap((s) => [s, s])
        .sort((a, b) => a - b)
      expect(received, `recipient ${r}`).toEqual(expected)
      expect((got.get(r) ?? []).length).toBeLessThanOrEqual(r >= 100 ? 1 : Math.ceil(Math.log2(n)))
    }
    // One combine per inner node of the tree: linear in senders, not quadratic.
    expect(combines).toBeLessThanOrEqual(n - 1)
  })

  test('messages without a sender reach every peer', () => {
    const { got } = run([0, 1, 2], [1, 2, 9])
    expect(got.get(1)!.flat().sort()).toEqual([0, 0, 2, 2])
    expect(got.get(9)!.flat().sort()).toEqual([0, 0, 1, 1, 2, 2])
  })

  test('a lone sender gets nothing back', () => {
    const { got } = run([7], [7, 8])
    expect(got.get(7)).toBeUndefined()
    expect(got.get(8)).toEqual([[7, 7]])
  })
})
