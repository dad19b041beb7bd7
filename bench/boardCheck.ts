/**
 * What BOARD_CHECK_INTERVAL_MS costs: the time one round of catalog re-reads takes for
 * N loaded rooms (their rows read 500 to a query), on SQLite and on PostgreSQL, and the
 * longest the event loop was held by it.
 *
 *   npx tsx bench/boardCheck.ts [rooms=1000]
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { loadConfig, syncLimits } from '../server/config'
import { PostgresStore } from '../server/storage/PostgresStore'
import { SqliteStore } from '../server/storage/SqliteStore'
import type { Store } from '../server/storage/Store'
import { SyncServer } from '../server/sync/SyncServer'

const rooms = Number(process.argv[2] ?? 1000)
const limits = syncLimits(loadConfig({}))

async function measure(name: string, store: Store): Promise<void> {
  for (let i = 0; i < rooms; i++) await store.catalog.noteBoard(`bench-${i}`, { title: `Board ${i}` })
  const sync = new SyncServer({
    store,
    log: pino({ level: 'silent' }),
    maxBufferedBytes: 1 << 26,
    heartbeatIntervalMs: 60_000,
    compactAfterBytes: 1 << 20,
    limits,
  })
  const handles = []
  for (let i = 0; i < rooms; i++) handles.push(await sync.rooms.acquire(`bench-${i}`))
  const times: number[] = []
  let longestTurn = 0
  for (let round = 0; round < 5; round++) {
    let last = performance.now()
    let ticking = true
    const tick = () => {
      const now = performance.now()
      longestTurn = Math.max(longestTurn, now - last)
      last = now
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const started = process.hrtime.bigint()
    await sync.checkBoards()
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
    ticking = false
  }
  times.sort((a, b) => a - b)
  console.log(
    `${name}: ${rooms} loaded rooms, one check round: median ${times[2]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[4]!.toFixed(1)}); longest event-loop turn ${longestTurn.toFixed(1)} ms`,
  )
  for (const h of handles) h.release()
  await sync.close()
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-bench-'))
await measure('SQLite', new SqliteStore({ file: path.join(dir, 'sketchroom.db') }))
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schema = `bench_check_${process.pid}`
const pg = new PostgresStore({ url, schema })
await pg.migrate()
try {
  await measure('PostgreSQL', pg)
} finally {
  const dropper = new PostgresStore({ url, schema })
  await dropper.dropSchema()
  await dropper.close()
}
fs.rmSync(dir, { recursive: true, force: true })
