/**
 * [S51] Frame fuzzer: random and mutated-valid frames at a live server for a bounded time
 * (FRAME_FUZZ_MS, 60 s by default; FRAME_FUZZ_SEED replays a run). The server must not
 * crash, its memory must stay bounded, and every room must load afterwards as valid
 * tldraw data.
 */
import * as encoding from 'lib0/encoding'
import { afterAll, expect, test } from 'vitest'
import * as Y from 'yjs'
import { presenceIdForClient } from '../../lib/presence'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../server/protocol/messages'
import { connectClient, forceGc, prng, type RawClient, rawClient, sleep, startTestServer, synced } from '../helpers'
import { assertValidBoard, geoShape, records, seedBoard } from './board'

const DURATION_MS = Number(process.env.FRAME_FUZZ_MS ?? 60_000)

test(
  `[S51] ${DURATION_MS / 1000} s of random and mutated frames: no crash, bounded memory, every room loads valid`,
  async () => {
    const seed = Number(process.env.FRAME_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const rnd = prng(seed)
    const s = await startTestServer({
      MAX_MESSAGES_PER_SECOND: '100000',
      MAX_MESSAGE_BURST: '100000',
      MAX_PENDING_MS: '200',
      HANDSHAKE_TIMEOUT_MS: '2000',
    })
    afterAll(() => s.close())
    const rooms = ['fuzz-a', 'fuzz-b', 'fuzz-c']
    // Seed each room with a valid board through an honest client.
    for (const room of rooms) {
      const c = connectClient(s.wsUrl, room)
      await synced(c)
      seedBoard(c.doc)
      await sleep(50)
      c.destroy()
    }

    // A corpus of valid frames to mutate.
    const corpus: Uint8Array[] = []
    const source = new Y.Doc()
    seedBoard(source)
    for (let i = 0; i < 20; i++) {
      const sv = Y.encodeStateVector(source)
      records(source).set(`shape:f${i}`, geoShape(`shape:f${i}`, { w: 10 + i }))
      corpus.push(encodeUpdate(Y.encodeStateAsUpdate(source, sv)))
    }
    corpus.push(encodeSyncStep1(Y.encodeStateVector(source)), encodeSyncStep2(Y.encodeStateAsUpdate(source)), Uint8Array.of(3))
    const entry = (id: number, state: unknown) => {
      const e = encoding.createEncoder()
      encoding.writeVarUint(e, id)
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, JSON.stringify(state))
      return encoding.toUint8Array(e)
    }
    corpus.push(encodeAwareness([entry(11, { presence: { id: presenceIdForClient(11), typeName: 'instance_presence' } })]))

    const mutate = (frame: Uint8Array): Uint8Array => {
      const out = frame.slice()
      switch (rnd.int(5)) {
        case 0: // flip bytes
          for (let i = 0; i < 1 + rnd.int(4); i++) if (out.length) out[rnd.int(out.length)] = rnd.int(256)
          return out
        case 1: // truncate
          return out.subarray(0, rnd.int(out.length + 1))
        case 2: // append garbage
          return Uint8Array.from([...out, ...Array.from({ length: 1 + rnd.int(16) }, () => rnd.int(256))])
        case 3: // pure noise
          return Uint8Array.from({ length: rnd.int(64) }, () => rnd.int(256))
        default: // splice two frames
          return Uint8Array.from([...out.subarray(0, rnd.int(out.length + 1)), ...rnd.pick(corpus)])
      }
    }

    const started = Date.now()
    let sent = 0
    let closes = 0
    const clients = new Set<RawClient>()
    // Live memory (JS heap and buffers) after a full GC: RSS would also count what the
    // allocator keeps after a peak, which says nothing about a leak.
    const live = () => {
      const m = process.memoryUsage()
      return m.heapUsed + m.external
    }
    forceGc()
    const memoryBefore = live()
    const rssBefore = process.memoryUsage().rss
    let memoryPeak = rssBefore
    while (Date.now() - started < DURATION_MS) {
      while (clients.size < 6) {
        const c = rawClient(`${s.wsUrl}/${rnd.pick(rooms)}`)
        clients.add(c)
        void c.closed.then(() => {
          clients.delete(c)
          closes++
        })
        await c.opened.catch(() => clients.delete(c))
      }
      for (const c of clients) {
        if (c.ws.readyState !== 1) continue
        const valid = rnd.pick(corpus)
        c.send(rnd.next() < 0.2 ? valid : mutate(valid))
        sent++
      }
      if (sent % 500 === 0) memoryPeak = Math.max(memoryPeak, process.memoryUsage().rss)
      await sleep(rnd.int(3))
    }
    for (const c of clients) c.ws.terminate()
    await sleep(300)
    forceGc()
    const memoryAfter = live()
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
    console.log(
      `[S51] seed ${seed}: ${sent} frames, ${closes} connections closed by the server, rss ${mib(rssBefore)} → peak ${mib(memoryPeak)} MiB, live heap+buffers ${mib(memoryBefore)} → ${mib(memoryAfter)} MiB`,
    )
    try {
      expect(sent).toBeGreaterThan(100)
      expect(closes).toBeGreaterThan(10)
      // Bounded: a leak per frame would grow with the tens of thousands of frames sent.
      expect(memoryAfter - memoryBefore).toBeLessThan(64 * 2 ** 20)
      expect(s.sync.health().status).toBe('ok')
      for (const room of rooms) {
        const c = connectClient(s.wsUrl, room)
        await synced(c)
        assertValidBoard(c.doc)
        c.destroy()
      }
    } catch (err) {
      console.error(`[S51] frame fuzz failed with FRAME_FUZZ_SEED=${seed}`)
      throw err
    }
  },
  DURATION_MS + 60_000,
)
