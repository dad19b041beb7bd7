import { EventEmitter } from 'node:events'
import { expect, test } from 'vitest'
import { FrameMeter } from './FrameMeter'
import { InflightBudget } from './InflightBudget'

/** A client frame as a browser sends it: masked, with the length encoded as short as it fits. */
function frame(payloadBytes: number, options: { fin?: boolean; opcode?: number } = {}): Buffer {
  const { fin = true, opcode = 2 } = options
  const header: number[] = [(fin ? 0x80 : 0) | opcode]
  if (payloadBytes < 126) header.push(0x80 | payloadBytes)
  else if (payloadBytes < 65536) header.push(0x80 | 126, payloadBytes >> 8, payloadBytes & 0xff)
  else {
    header.push(0x80 | 127)
    const big = Buffer.alloc(8)
    big.writeBigUInt64BE(BigInt(payloadBytes))
    header.push(...big)
  }
  header.push(1, 2, 3, 4) // mask key
  return Buffer.concat([Buffer.from(header), Buffer.alloc(payloadBytes, 7)])
}

class FakeStream extends EventEmitter {
  paused = false
  pause() {
    this.paused = true
    return this
  }
  resume() {
    this.paused = false
    return this
  }
  /** Delivers `bytes` in chunks of `chunk` bytes, as TCP might. */
  feed(bytes: Buffer, chunk = bytes.length) {
    for (let i = 0; i < bytes.length; i += chunk) this.emit('data', bytes.subarray(i, i + chunk))
  }
}

function meter(budget: InflightBudget, limit: () => number) {
  const stream = new FakeStream()
  const events: string[] = []
  const m = new FrameMeter(stream, {
    budget,
    limit,
    tooBig: (bytes, max) => events.push(`tooBig ${bytes}/${max}`),
    busy: () => events.push('busy'),
    waitMs: 50,
  })
  return { stream, events, m }
}

test('reads 7-bit, 16-bit and 64-bit lengths across any chunking, and reserves each message until handled', () => {
  const budget = new InflightBudget(1 << 20)
  const { stream, m, events } = meter(budget, () => 1 << 20)
  stream.feed(Buffer.concat([frame(10), frame(300), frame(70_000)]), 7)
  expect(events).toEqual([])
  expect(budget.inUse).toBe(70_310)
  m.handled()
  m.handled()
  expect(budget.inUse).toBe(70_000)
  m.handled()
  expect(budget.inUse).toBe(0)
})

test('control frames cost nothing; a fragmented message counts as one, its size the sum', () => {
  const budget = new InflightBudget(1 << 20)
  const { stream, m, events } = meter(budget, () => 1000)
  stream.feed(Buffer.concat([frame(4, { opcode: 9 }), frame(600, { fin: false }), frame(4, { opcode: 10 }), frame(300, { opcode: 0 })]))
  expect(events).toEqual([])
  expect(budget.inUse).toBe(900)
  m.handled()
  expect(budget.inUse).toBe(0)
  stream.feed(Buffer.concat([frame(600, { fin: false }), frame(600, { opcode: 0 })]))
  expect(events).toEqual(['tooBig 1200/1000'])
})

test('a message over the limit is refused at its header, before its payload arrives', () => {
  const budget = new InflightBudget(1 << 20)
  const { stream, events } = meter(budget, () => 100)
  stream.feed(frame(5000).subarray(0, 12))
  expect(events).toEqual(['tooBig 5000/100'])
  expect(budget.inUse).toBe(0)
})

test('the limit of a message waits for the messages ahead of it (a sync step 1 may raise it)', () => {
  const budget = new InflightBudget(1 << 20)
  let limit = 100
  const { stream, m, events } = meter(budget, () => limit)
  stream.feed(Buffer.concat([frame(10), frame(5000)]))
  expect(events).toEqual([])
  expect(stream.paused).toBe(true)
  limit = 10_000 // handling the first message made it an editor
  m.handled()
  expect(events).toEqual([])
  expect(stream.paused).toBe(false)
  // Without the raise it would have been refused once the first was handled.
  const other = meter(new InflightBudget(1 << 20), () => 100)
  other.stream.feed(Buffer.concat([frame(10), frame(5000)]))
  other.m.handled()
  expect(other.events).toEqual(['tooBig 5000/100'])
})

test('beyond the budget the stream pauses until others are handled; waiting too long is busy; stop gives everything back', async () => {
  const budget = new InflightBudget(1000)
  const a = meter(budget, () => 1000)
  const b = meter(budget, () => 1000)
  a.stream.feed(frame(800))
  b.stream.feed(frame(500))
  expect(b.stream.paused).toBe(true)
  expect(budget.inUse).toBe(800)
  a.m.handled()
  expect(b.stream.paused).toBe(false)
  expect(budget.inUse).toBe(500)
  b.m.handled()
  expect(budget.inUse).toBe(0)
  // Now one that never gets room.
  a.stream.feed(frame(900))
  b.stream.feed(frame(900))
  await new Promise((resolve) => setTimeout(resolve, 80))
  expect(b.events).toEqual(['busy'])
  a.m.stop()
  expect(budget.inUse).toBe(0)
  expect(budget.waiting).toBe(0)
})

test('a message handled before its reservation came through does not keep the budget', () => {
  const budget = new InflightBudget(1000)
  const a = meter(budget, () => 1000)
  const b = meter(budget, () => 1000)
  a.stream.feed(frame(900))
  b.stream.feed(frame(50)) // waits in line, but ws had the whole chunk and delivers it
  b.m.handled()
  a.m.handled()
  expect(budget.inUse).toBe(0)
})
