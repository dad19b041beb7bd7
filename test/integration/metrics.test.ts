/**
 * /metrics for operators: the bus's counters on instances that share rooms, and nothing in
 * /metrics or the logs that names a board by its key (a room id is its edit capability).
 */
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, test } from 'vitest'
import { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { seedBoard } from '../abuse/board'
import { DATABASE_URL, postgresSchemas, synced, testScope, waitFor } from '../helpers'

const { server, client } = testScope()
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const schema = postgresSchemas('sketchroom_metrics').next()

/** A logger at the most verbose level, into a string. */
function capturedLog() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString()
      done()
    },
  })
  return { logger: pino({ level: 'trace' }, stream), text: () => text }
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
}

const value = (metrics: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN)

describe('metrics', () => {
  test('two instances count bus messages both ways and heals from the store; neither /metrics nor any log line names the room', async () => {
    const room = `secretRoomKey${randomBytes(6).toString('hex')}`
    const env = {
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL,
      REDIS_PREFIX: `sketchroom-metrics-${randomBytes(4).toString('hex')}:`,
      ANTI_ENTROPY_INTERVAL_MS: '200',
    }
    const logs = [capturedLog(), capturedLog()]
    const a = await server(env, { logger: logs[0]!.logger })
    const b = await server(env, { logger: logs[1]!.logger })
    const ca = client(a, room)
    const cb = client(b, room)
    await synced(ca, cb)
    seedBoard(ca.doc)
    ;(ca.provider.awareness as Awareness).setLocalStateField('user', { id: 'u1', name: 'Ada', color: '#123456' })
    await waitFor(() => cb.doc.getArray('records').length === ca.doc.getArray('records').length, 'the board to cross instances')
    cb.doc.getText('notes').insert(0, 'back the other way')
    await waitFor(() => ca.doc.getText('notes').toString() === 'back the other way', 'a change to come back')
    // An update that never crosses the bus (a third writer of the shared store) heals in by anti-entropy.
    const lost = new Y.Doc()
    lost.getText('lost').insert(0, 'only in the store')
    const writer = new PostgresStore({ url: DATABASE_URL, schema })
    await writer.append(room, Y.encodeStateAsUpdate(lost))
    await writer.close()
    await waitFor(() => [ca, cb].every((c) => c.doc.getText('lost').toString() === 'only in the store'), 'the lost update to heal in')

    for (const s of [a, b]) {
      const metrics = await scrape(s.port)
      expect(value(metrics, 'sketchroom_bus_messages_out_total')).toBeGreaterThan(0)
      expect(value(metrics, 'sketchroom_bus_messages_in_total')).toBeGreaterThan(0)
      expect(value(metrics, 'sketchroom_bus_store_heals_total')).toBeGreaterThan(0)
      for (const name of ['sketchroom_bus_heals_sent_total', 'sketchroom_bus_expired_cursors_total']) {
        expect(value(metrics, name)).toBeGreaterThanOrEqual(0)
      }
      expect(metrics).not.toContain(room)
    }
    ca.destroy()
    cb.destroy()
    await a.close()
    await b.close()
    for (const log of logs) {
      // Rooms are in the logs, by their keyed tag only.
      expect(log.text()).toMatch(/"room":"r-[\w-]+"/)
      expect(log.text()).not.toContain(room)
    }
  })

  test('one instance exports no bus series, and its logs do not name the room either', async () => {
    const room = `secretRoomKey${randomBytes(6).toString('hex')}`
    const log = capturedLog()
    const s = await server({}, { logger: log.logger })
    const c = client(s, room)
    await synced(c)
    seedBoard(c.doc)
    await waitFor(() => (s.sync.rooms.get(room)?.doc.getArray('records').length ?? 0) > 0, 'the board to be stored')
    const metrics = await scrape(s.port)
    expect(metrics).toContain('sketchroom_store_append_seconds_count')
    expect(metrics).toMatch(/^sketchroom_store_append_errors_total 0$/m)
    expect(metrics).not.toContain('sketchroom_bus_')
    expect(metrics).not.toContain(room)
    c.destroy()
    await s.close()
    expect(log.text()).toMatch(/"room":"r-[\w-]+"/)
    expect(log.text()).not.toContain(room)
  })
})
