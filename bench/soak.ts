/**
 * `npm run soak`: minutes of ordinary trouble, then one question: is every record anyone
 * drew on the board? Not a test (it takes minutes and its schedule is random), not in CI.
 *
 * Stock y-websocket clients in this process draw tldraw shapes into many rooms; some paste
 * big batches, some go offline for a while and keep drawing, and the servers are killed
 * with SIGKILL at random and started again on the same port and data. At the end everyone
 * reconnects, and a fresh client per room must see every shape any client drew.
 *
 *   npm run soak                         one server on SQLite, 3 minutes
 *   SOAK_MINUTES=10 npm run soak
 *   SOAK_INSTANCES=2 npm run soak        two instances on PostgreSQL + Redis (DATABASE_URL, REDIS_URL)
 *   SOAK_ROOMS=20 SOAK_CLIENTS=60 SOAK_SEED=7 npm run soak
 *
 * Exits 1 and lists what is missing if anything is.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { geoShape, records, seedBoard } from '../test/abuse/board'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const env = process.env
const minutes = Number(env.SOAK_MINUTES ?? 3)
const instances = Math.max(1, Number(env.SOAK_INSTANCES ?? 1))
const roomCount = Number(env.SOAK_ROOMS ?? 12)
const clientCount = Number(env.SOAK_CLIENTS ?? 36)
const seed = Number(env.SOAK_SEED ?? Date.now() % 100_000)
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379'

let rngState = seed >>> 0
const random = () => {
  rngState = (rngState + 0x6d2b79f5) >>> 0
  let t = rngState
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let escaped = 0
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`)

interface Server {
  port: number
  child: ChildProcess | null
  kills: number
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-soak-'))
const schema = `sketchroom_soak_${randomBytes(5).toString('hex')}`
const shared =
  instances > 1
    ? { DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL, REDIS_PREFIX: `sketchroom-soak-${randomBytes(4).toString('hex')}:` }
    : {}

/** Starts (or restarts) a server child on `port` (0: any), as `npm run sync` runs it. */
async function start(server: Server): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/main.ts'), '--sync-only'], {
    cwd: ROOT,
    env: { ...env, PORT: String(server.port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: dataDir, ...shared },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  server.child = child
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      // A rejection that escaped, or a crash, is a failure of the soak whatever the boards say.
      for (const line of chunk.toString().split('\n')) {
        if (!/unhandled|"level":60/i.test(line)) continue
        escaped++
        console.log(`server: ${line}`)
      }
    })
    child.once('exit', (code) => reject(new Error(`server exited (${code}) while starting: ${out}`)))
    const poll = async () => {
      for (let i = 0; i < 300; i++) {
        if (server.port) {
          const ok = await fetch(`http://127.0.0.1:${server.port}/healthz`).then(
            (r) => r.ok,
            () => false,
          )
          if (ok) return resolve(server.port)
        }
        await sleep(100)
      }
      reject(new Error('server did not become healthy in 30 s'))
    }
    void poll()
  })
  server.port = port
}

/** A free port for a server that must come back on the same one after a kill. */
async function freePort(): Promise<number> {
  const net = await import('node:net')
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

interface Client {
  room: string
  doc: Y.Doc
  provider: WebsocketProvider
  drawn: Set<string>
  offlineUntil: number
}

function connect(server: Server, room: string, doc = new Y.Doc()): WebsocketProvider {
  return new WebsocketProvider(`ws://127.0.0.1:${server.port}/sync`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 1000,
  })
}

let shapeSerial = 0
function draw(client: Client, count: number): void {
  const kv = records(client.doc)
  client.doc.transact(() => {
    for (let i = 0; i < count; i++) {
      const id = `shape:${client.room}-${shapeSerial++}`
      kv.set(id, geoShape(id, { url: `https://soak.test/${id}` }))
      client.drawn.add(id)
    }
  })
}

async function main(): Promise<void> {
  // Every y-websocket provider listens for the process's exit.
  process.setMaxListeners(0)
  log(`soak: ${minutes} min, ${instances} instance(s), ${roomCount} rooms, ${clientCount} clients, seed ${seed}, data ${dataDir}`)
  const servers: Server[] = []
  for (let i = 0; i < instances; i++) {
    const server: Server = { port: await freePort(), child: null, kills: 0 }
    await start(server)
    servers.push(server)
  }
  const rooms = Array.from({ length: roomCount }, (_, i) => `soak-${seed}-${i}`)
  const clients: Client[] = []
  for (let i = 0; i < clientCount; i++) {
    const room = rooms[i % rooms.length]!
    const doc = new Y.Doc()
    const client: Client = { room, doc, provider: connect(servers[i % servers.length]!, room, doc), drawn: new Set(), offlineUntil: 0 }
    clients.push(client)
  }
  // One client per room seeds the board (document record and page), as the app does.
  for (const room of rooms) seedBoard(clients.find((c) => c.room === room)!.doc, [])

  const stats = { shapes: 0, pastes: 0, offline: 0, kills: 0 }
  const deadline = Date.now() + minutes * 60_000
  let nextKill = Date.now() + 10_000 + random() * 20_000
  while (Date.now() < deadline) {
    const now = Date.now()
    for (const client of clients) {
      if (client.offlineUntil && now > client.offlineUntil) {
        client.offlineUntil = 0
        client.provider.connect()
      }
      const roll = random()
      if (roll < 0.3) {
        draw(client, 1 + Math.floor(random() * 4))
        stats.shapes++
      } else if (roll < 0.302) {
        draw(client, 1500 + Math.floor(random() * 2500))
        stats.pastes++
      } else if (roll < 0.305 && !client.offlineUntil) {
        client.provider.disconnect()
        client.offlineUntil = now + 3000 + random() * 15_000
        stats.offline++
      }
    }
    if (now > nextKill) {
      const victim = pick(servers)
      victim.child?.kill('SIGKILL')
      await new Promise((resolve) => victim.child?.once('exit', resolve))
      victim.kills++
      stats.kills++
      log(`kill -9 of the server on :${victim.port} (${stats.kills} so far); restarting`)
      await sleep(random() * 2000)
      await start(victim)
      nextKill = Date.now() + 10_000 + random() * 30_000
    }
    await sleep(200)
  }
  log(`drawing stops: ${JSON.stringify(stats)}; everyone reconnects`)
  for (const client of clients) if (client.offlineUntil) client.provider.connect()
  const settle = Date.now() + 120_000
  const behind = () => clients.filter((c) => !(c.provider.synced && c.provider.wsconnected))
  while (Date.now() < settle && behind().length > 0) await sleep(200)
  if (behind().length > 0) log(`${behind().length} clients still not connected and synced after 120 s`)
  await sleep(3000)

  // The board as a newcomer sees it, through a server that was killed more than once.
  let missing = 0
  let expected = 0
  for (const room of rooms) {
    const drawn = new Set(clients.filter((c) => c.room === room).flatMap((c) => [...c.drawn]))
    expected += drawn.size
    const fresh = connect(pick(servers), room)
    const until = Date.now() + 60_000
    const has = () => new Set(records(fresh.doc).map.keys())
    while (Date.now() < until && [...drawn].some((id) => !has().has(id))) await sleep(200)
    const lost = [...drawn].filter((id) => !has().has(id))
    if (lost.length) {
      log(`${room}: ${lost.length} of ${drawn.size} shapes missing, e.g. ${lost.slice(0, 5).join(', ')}`)
      // Who drew them, and where that client stands: still holding them, connected, synced?
      for (const c of clients.filter((c) => lost.some((id) => c.drawn.has(id)))) {
        const mine = lost.filter((id) => c.drawn.has(id))
        const held = mine.filter((id) => records(c.doc).has(id)).length
        log(
          `  drawn by client ${c.doc.clientID}: ${mine.length} missing, ${held} still in its doc; connected ${c.provider.wsconnected}, synced ${c.provider.synced}`,
        )
      }
    }
    missing += lost.length
    fresh.destroy()
  }
  for (const client of clients) client.provider.destroy()
  for (const server of servers) server.child?.kill('SIGTERM')
  await sleep(1000)
  if (instances > 1) {
    const db = new pg.Client({ connectionString: DATABASE_URL })
    await db.connect()
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await db.end()
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
  log(`${expected} shapes drawn, ${missing} missing, ${escaped} escaped errors in the server logs (seed ${seed})`)
  process.exit(missing === 0 && escaped === 0 ? 0 : 1)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
