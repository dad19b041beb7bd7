import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { type Flushable, FlushScheduler } from './FlushScheduler'
import { WriteBatch } from './WriteBatch'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

function room(id = 'room'): Flushable & { flushes: number[] } {
  const flushes: number[] = []
  return {
    id,
    flushes,
    flush: async () => void flushes.push(Date.now()),
  }
}

test('[S54] the first change after a quiet spell flushes at the end of its turn; a busy room at most every interval', () => {
  const scheduler = new FlushScheduler({ intervalMs: 16, onError: () => undefined })
  const busy = room()
  const start = Date.now()
  scheduler.request(busy)
  expect(busy.flushes).toEqual([])
  vi.advanceTimersToNextTimer() // the end of the turn (setImmediate)
  expect(busy.flushes).toEqual([start])
  // Changes keep coming: however many requests, one flush per interval.
  for (let ms = 0; ms < 40; ms++) {
    scheduler.request(busy)
    scheduler.request(busy)
    vi.advanceTimersByTime(1)
  }
  const gaps = busy.flushes.slice(1).map((t, i) => t - busy.flushes[i]!)
  expect(busy.flushes.length).toBe(3)
  // Each gap is the interval, plus the end of the turn in which the timer fired.
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(16)
  for (const gap of gaps) expect(gap).toBeLessThanOrEqual(17)
  // Quiet for a while: the next change goes out at once again.
  vi.advanceTimersByTime(100)
  const before = busy.flushes.length
  scheduler.request(busy)
  vi.advanceTimersToNextTimer()
  expect(busy.flushes.length).toBe(before + 1)
})

test('rooms keep their own cadence, and an interval of 0 flushes at the end of every turn', () => {
  const scheduler = new FlushScheduler({ intervalMs: 0, onError: () => undefined })
  const a = room('a')
  const b = room('b')
  for (let turn = 0; turn < 3; turn++) {
    scheduler.request(a)
    scheduler.request(a)
    if (turn !== 1) scheduler.request(b)
    vi.advanceTimersToNextTimer()
  }
  expect(a.flushes.length).toBe(3)
  expect(b.flushes.length).toBe(2)
})

test('the write batch is released after the rooms of the turn have flushed, so their sends share one write', () => {
  const scheduler = new FlushScheduler({ intervalMs: 16, onError: () => undefined })
  const events: string[] = []
  const batch = new WriteBatch((release) => scheduler.atEndOfTurn(release))
  const transport = { cork: () => events.push('cork'), uncork: () => events.push('uncork') }
  batch.hold(transport)
  scheduler.request({ id: 'r', flush: async () => void events.push('flush') })
  vi.advanceTimersToNextTimer()
  expect(events).toEqual(['cork', 'flush', 'uncork'])
})

test('flushAll flushes rooms waiting for their interval at once; a failed flush is reported', async () => {
  const errors: unknown[] = []
  const scheduler = new FlushScheduler({ intervalMs: 1000, onError: (err) => errors.push(err) })
  const waiting = room()
  scheduler.request(waiting)
  vi.advanceTimersToNextTimer()
  scheduler.request(waiting)
  const failing: Flushable = { id: 'bad', flush: () => Promise.reject(new Error('store down')) }
  scheduler.request(failing)
  scheduler.flushAll()
  expect(waiting.flushes.length).toBe(2)
  await vi.waitFor(() => expect(errors).toHaveLength(1))
})

/** Keeps `target` busy for `ms` (a request every millisecond, as a busy room gets); the gaps between its flushes. */
function keepBusy(scheduler: FlushScheduler, target: ReturnType<typeof room>, ms: number): number[] {
  const from = target.flushes.length
  for (let t = 0; t < ms; t++) {
    scheduler.request(target)
    vi.advanceTimersByTime(1)
  }
  const flushes = target.flushes.slice(from)
  return flushes.slice(1).map((t, i) => t - flushes[i]!)
}

test('[S133] while the server is busy the interval stretches a step per 250 ms up to the busy interval, and comes back when it is calm', () => {
  let load = 0
  const scheduler = new FlushScheduler({ intervalMs: 16, busyIntervalMs: 32, load: () => load, onError: () => undefined })
  const busy = room()
  // [load, how long, the interval after it, the gaps between flushes meanwhile (ms, ± 1)]
  const phases: Array<[number, number, number, number | null]> = [
    [0.1, 600, 16, 16], // calm: the short interval
    [0.9, 260, 24, null], // busy: one step per window…
    [0.9, 260, 32, null],
    [0.9, 1000, 32, 32], // …and no further
    [0.55, 600, 32, null], // between the two thresholds: it stays
    [0.2, 260, 24, null], // calm again: back a step per window
    [0.2, 600, 16, null],
    [0.2, 300, 16, 16],
  ]
  for (const [phaseLoad, ms, interval, gap] of phases) {
    load = phaseLoad
    const gaps = keepBusy(scheduler, busy, ms)
    expect(scheduler.intervalMs).toBe(interval)
    if (gap === null) continue
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(gap)
    for (const g of gaps) expect(g).toBeLessThanOrEqual(gap + 1)
  }
})

test('[S133] a busy interval at or below the interval keeps it fixed, however busy the server', () => {
  for (const busyIntervalMs of [undefined, 16, 8]) {
    const scheduler = new FlushScheduler({ intervalMs: 16, busyIntervalMs, load: () => 1, onError: () => undefined })
    const busy = room()
    const gaps = keepBusy(scheduler, busy, 1500)
    expect(scheduler.intervalMs).toBe(16)
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(17)
  }
})

test('[S133] with an interval of 0 a busy server still batches, up to the busy interval', () => {
  const scheduler = new FlushScheduler({ intervalMs: 0, busyIntervalMs: 20, load: () => 0.95, onError: () => undefined })
  const busy = room()
  keepBusy(scheduler, busy, 600)
  expect(scheduler.intervalMs).toBe(20)
  for (const gap of keepBusy(scheduler, busy, 400)) expect(gap).toBeGreaterThanOrEqual(20)
})
