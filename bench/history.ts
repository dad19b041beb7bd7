/**
 * What board history costs on the server (issue 13), on SQLite and, with DATABASE_URL, on
 * PostgreSQL:
 *
 *   storage  a board of N shapes (default 5,000): the first version, then versions that
 *            each differ by one moved shape. Printed: the encoded state, the bytes one
 *            such version takes as stored (a diff against the newest keyframe), and what a
 *            full snapshot per version would take.
 *   listing  a board with V versions (default 1,000): `GET /api/boards/<room>/versions`
 *            against a real server on port 0 (the HTTP round trip on loopback, so an upper
 *            bound of the server time), median and p95 of R requests, and the catalog
 *            call alone.
 *
 *   npx tsx bench/history.ts [--shapes 5000] [--versions 1000] [--requests 50]
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { YKeyValue } from 'y-utility/y-keyvalue'
import * as Y from 'yjs'
import { loadConfig } from '../server/config'
import { startServer } from '../server/app'
import { PostgresStore } from '../server/storage/PostgresStore'
import { SqliteStore } from '../server/storage/SqliteStore'
import type { Store } from '../server/storage/Store'
import { fmtBytes, median } from './scenarios'
import { geoShape } from './wire'
import { numberFlag } from './cli'

const SHAPES = numberFlag('shapes', 5000)
const VERSIONS = numberFlag('versions', 1000)
const REQUESTS = numberFlag('requests', 50)

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!
}

/** A board of `shapes` shapes (tldraw's YKeyValue layout), then `moves` states that each move one shape. */
function* boardStates(shapes: number, moves: number): Generator<Uint8Array> {
  const doc = new Y.Doc()
  const kv = new YKeyValue(doc.getArray<{ key: string; val: unknown }>('records'))
  const t = Date.now()
  doc.transact(() => {
    for (let i = 0; i < shapes; i++) kv.set(`shape:s${i}`, geoShape(`s${i}`, i, t, doc.clientID))
  })
  yield Y.encodeStateAsUpdate(doc)
  for (let i = 1; i <= moves; i++) {
    const key = `shape:s${i % shapes}`
    kv.set(key, { ...(kv.get(key) as object), x: 1000 + i })
    yield Y.encodeStateAsUpdate(doc)
  }
}

async function storage(store: Store, label: string): Promise<void> {
  const room = `bench-history-storage-${Date.now().toString(36)}`
  const stored: number[] = []
  let stateBytes = 0
  let t = Date.now() - 10 * 60_000
  for (const state of boardStates(SHAPES, 20)) {
    stateBytes = state.length
    const v = await store.catalog.addVersion(room, { createdAt: t++, reason: 'quiet', name: null, shapes: SHAPES, editors: [], state })
    if (v) stored.push(v.storedBytes)
  }
  const [first, ...rest] = stored
  const perVersion = median(rest)
  console.log(
    `  ${label.padEnd(10)} ${SHAPES} shapes: state ${fmtBytes(stateBytes)}; first version ${fmtBytes(first!)} (keyframe), ` +
      `then ${fmtBytes(perVersion)} per version with one shape moved (median of ${rest.length}) ` +
      `against ${fmtBytes(stateBytes)} as a full snapshot: ${(stateBytes / perVersion).toFixed(0)}× smaller`,
  )
}

async function listing(store: Store, label: string, env: Record<string, string>): Promise<void> {
  const room = `bench-history-list-${Date.now().toString(36)}`
  // Small boards: the listing's cost is in the rows, not in the states.
  const start = Date.now() - VERSIONS * 1000
  let i = 0
  for (const state of boardStates(10, VERSIONS - 1)) {
    await store.catalog.addVersion(room, {
      createdAt: start + i * 1000,
      reason: i % 50 === 0 ? 'named' : 'quiet',
      name: i % 50 === 0 ? `Milestone ${i / 50}` : null,
      shapes: 10,
      editors: ['Ada', 'Bob'],
      state,
    })
    i++
  }
  const catalogMs: number[] = []
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now()
    const list = await store.catalog.versions(room)
    catalogMs.push(performance.now() - t0)
    if (list.length !== VERSIONS) throw new Error(`expected ${VERSIONS} versions, got ${list.length}`)
  }
  const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }), {
    logger: pino({ level: 'silent' }),
    store,
  })
  try {
    const httpMs: number[] = []
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now()
      const res = await fetch(`http://127.0.0.1:${server.port}/api/boards/${room}/versions`)
      const body = (await res.json()) as { versions: unknown[] }
      httpMs.push(performance.now() - t0)
      if (body.versions.length !== VERSIONS) throw new Error(`expected ${VERSIONS} versions over HTTP, got ${body.versions.length}`)
    }
    console.log(
      `  ${label.padEnd(10)} list ${VERSIONS} versions: GET /api/boards/<room>/versions median ${median(httpMs).toFixed(1)} ms, ` +
        `p95 ${percentile(httpMs, 0.95).toFixed(1)} ms (loopback round trip); catalog.versions() median ${median(catalogMs).toFixed(1)} ms`,
    )
  } finally {
    await server.close()
  }
}

async function main(): Promise<void> {
  console.log(`sketchroom history bench — ${new Date().toISOString()} — node ${process.version}, ${os.cpus().length} cores`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-bench-history-'))
  try {
    const sqlite = () => new SqliteStore({ file: path.join(dir, `h-${Date.now().toString(36)}.db`) })
    {
      const store = sqlite()
      await storage(store, 'SQLite')
      await store.close()
    }
    await listing(sqlite(), 'SQLite', { DATA_DIR: dir })
    if (process.env.DATABASE_URL) {
      const schema = `bench_history_${Date.now().toString(36)}`
      const pg = () => new PostgresStore({ url: process.env.DATABASE_URL!, schema })
      const store = pg()
      await store.migrate()
      await storage(store, 'PostgreSQL')
      await store.close()
      const listed = pg()
      await listed.migrate()
      await listing(listed, 'PostgreSQL', { DATA_DIR: dir, DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema })
      const { Client } = await import('pg')
      const client = new Client({ connectionString: process.env.DATABASE_URL })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
