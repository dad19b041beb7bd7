/**
 * The contract every Bus implementation keeps. Each implementation's test file calls
 * `busContract` with a factory; see InProcessBus.test.ts and RedisBus.test.ts.
 */
import { describe, expect, test } from 'vitest'
import { waitFor } from '../../test/helpers'
import type { Bus } from './Bus'

export interface BusFixture {
  /** Three buses standing for three instances. */
  buses: [Bus, Bus, Bus]
  /** Takes `bus` off the network until `restore` (an outage of its broker link). */
  cut(bus: Bus): void
  restore(bus: Bus): void
  close(): Promise<void>
}

interface Received {
  topic: string
  text: string
  from: string
}

function listen(bus: Bus, topic: string, into: Received[]): Promise<void> {
  return bus.subscribe(topic, (message, from) => into.push({ topic, text: Buffer.from(message).toString(), from }))
}

const bytes = (text: string) => new Uint8Array(Buffer.from(text))

export function busContract(name: string, open: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    test('a message reaches every other subscriber of its topic, byte for byte, and not its publisher', async () => {
      const f = await open()
      const [a, b, c] = f.buses
      const got: Received[][] = [[], [], []]
      await Promise.all(f.buses.map((bus, i) => listen(bus, 'room-1', got[i]!)))
      const binary = new Uint8Array(256).map((_, i) => i)
      let binaryAt: Uint8Array | null = null
      await c.subscribe('room-bin', (m) => (binaryAt = m.slice()))
      a.publish('room-1', bytes('hello'))
      a.publish('room-bin', binary)
      await waitFor(() => got[1]!.length === 1 && got[2]!.length === 1 && binaryAt !== null, 'delivery')
      expect(got[1]).toEqual([{ topic: 'room-1', text: 'hello', from: a.id }])
      expect(got[2]).toEqual([{ topic: 'room-1', text: 'hello', from: a.id }])
      expect(binaryAt).toEqual(binary)
      // A later message from b arriving everywhere shows a's own copy is not just late.
      b.publish('room-1', bytes('from b'))
      await waitFor(() => got[0]!.length === 1 && got[2]!.length === 2, 'second delivery')
      expect(got[0]).toEqual([{ topic: 'room-1', text: 'from b', from: b.id }])
      expect(got[1]).toHaveLength(1)
      await f.close()
    })

    test('topics are separate, and unsubscribing stops delivery', async () => {
      const f = await open()
      const [a, b, c] = f.buses
      const gotB: Received[] = []
      const gotC: Received[] = []
      await listen(b, 'room-x', gotB)
      await listen(c, 'room-y', gotC)
      a.publish('room-x', bytes('x1'))
      a.publish('room-y', bytes('y1'))
      await waitFor(() => gotB.length === 1 && gotC.length === 1, 'delivery')
      expect(gotB.map((r) => r.text)).toEqual(['x1'])
      expect(gotC.map((r) => r.text)).toEqual(['y1'])
      await b.unsubscribe('room-x')
      await listen(c, 'room-x', gotC)
      a.publish('room-x', bytes('x2'))
      await waitFor(() => gotC.length === 2, 'delivery to c')
      expect(gotB).toHaveLength(1)
      await f.close()
    })

    test('after an outage the bus tells its listeners and delivers again, including topics subscribed meanwhile', async () => {
      const f = await open()
      const [a, b] = f.buses
      const got: Received[] = []
      let reconnects = 0
      b.onReconnect(() => reconnects++)
      await listen(b, 'room-old', got)
      f.cut(b)
      // Subscribing while down must not hang or throw; it takes effect on reconnection.
      await listen(b, 'room-new', got)
      f.restore(b)
      await waitFor(() => reconnects === 1, 'the reconnect notification')
      // Publish until it arrives: a's own link may also be settling.
      await waitFor(() => {
        a.publish('room-old', bytes('old'))
        a.publish('room-new', bytes('new'))
        return got.some((r) => r.text === 'old') && got.some((r) => r.text === 'new')
      }, 'delivery after the outage')
      await f.close()
    })
  })
}
