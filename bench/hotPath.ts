/**
 * `npx tsx bench/hotPath.ts [--rooms 20] [--seconds 10]`: the many-rooms load of
 * `npm run bench` (rooms of 10 peers, each sending awareness at 20 Hz and a shape move at
 * 5 Hz, flushed every 16 ms) pushed through our room core in one process, with no network:
 * real Rooms, Connections, board rules and a MemoryStore, sockets that only keep what
 * they are sent. It prints our own CPU per delivery (what is left when sockets, `ws` and
 * system calls are taken away) and where it goes by phase, steadily enough to compare two
 * trees, which the networked bench on a shared 2-core machine is not.
 */
import pino from 'pino'
import { BoardRules } from '../server/board/BoardRules'
import { encodeSyncStep1 } from '../server/protocol/messages'
import { Room } from '../server/room/Room'
import { LIMITS } from '../server/room/Room.fixtures'
import { MemoryStore } from '../server/storage/MemoryStore'
import { Connection, type SyncSocket } from '../server/sync/Connection'
import { Stats } from '../server/sync/Stats'
import { awarenessFrame, awarenessJson, RecordWriter, updateFrame } from './wire'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const ROOMS = arg('rooms', 20)
const SECONDS = arg('seconds', 10)
const PEERS = 10
const FLUSH_MS = 16
const log = pino({ level: 'silent' })

class CountingSocket implements SyncSocket {
  readyState = 1
  bufferedAmount = 0
  frames = 0
  send(): void {
    this.frames++
  }
  close(): void {
    this.readyState = 3
  }
  terminate(): void {
    this.readyState = 3
  }
  ping(): void {}
}

interface Client {
  conn: Connection
  socket: CountingSocket
  writer: RecordWriter
  clock: number
}

async function main() {
  const rules = new BoardRules({ maxRecordBytes: 64 * 1024 })
  const store = new MemoryStore()
  const rooms: Array<{ room: Room; clients: Client[] }> = []
  let nextId = 1
  for (let r = 0; r < ROOMS; r++) {
    const room = new Room(`hot-${r}`, {
      store,
      log,
      tag: `r-${r}`,
      requestFlush: () => {},
      compactAfterBytes: 4 << 20,
      compactAfterEntries: 2000,
      rules,
      // The tests' room limits, with room for 10 s of load and every peer.
      limits: { ...LIMITS, maxDocBytes: 64 << 20, maxConnections: 100 },
    })
    await room.load()
    const clients: Client[] = []
    for (let p = 0; p < PEERS; p++) {
      const socket = new CountingSocket()
      const conn = new Connection(socket, {
        roomId: `hot-${r}`,
        roomTag: `r-${r}`,
        id: nextId++,
        limits: {
          maxBufferedBytes: 1 << 30,
          messagesPerSecond: 1e6,
          messageBurst: 1e6,
          handshakeTimeoutMs: 600_000,
          maxOffences: 10,
          maxMessageBytes: 1 << 20,
          maxEditMessageBytes: 1 << 20,
          inflightWaitMs: 1000,
        },
        stats: new Stats(),
        log,
      })
      room.join(conn)
      room.receive(conn, encodeSyncStep1(new Uint8Array([0])))
      clients.push({ conn, socket, writer: new RecordWriter(), clock: 0 })
    }
    rooms.push({ room, clients })
  }

  // Per 16 ms of simulated time, per room: each peer's awareness is due every 50 ms and
  // its move every 200 ms, staggered by peer, as the load generator does. The frames are
  // made before the clock starts, so only the server's work is measured.
  const ticks = Math.round((SECONDS * 1000) / FLUSH_MS)
  const warmup = Math.round(2000 / FLUSH_MS)
  type Due = { client: Client; frame: Uint8Array; kind: 'awareness' | 'update' }
  const plan: Due[][][] = []
  for (let tick = 0; tick < warmup + ticks; tick++) {
    const now = tick * FLUSH_MS
    plan.push(
      rooms.map(({ clients }) => {
        const due: Due[] = []
        clients.forEach((client, p) => {
          const offset = p * 5
          const id = client.writer.clientId
          if (Math.floor((now + offset) / 50) !== Math.floor((now + offset - FLUSH_MS) / 50)) {
            const json = awarenessJson(1_700_000_000_000 + now, id, `peer${p}`, '#e03131', (tick * 7) % 1000, p * 10)
            due.push({ client, kind: 'awareness', frame: awarenessFrame('yws', '', id, ++client.clock, json) })
          }
          if (Math.floor((now + offset * 4) / 200) !== Math.floor((now + offset * 4 - FLUSH_MS) / 200)) {
            due.push({ client, kind: 'update', frame: updateFrame('yws', '', client.writer.move(`p${id}`, p, 1_700_000_000_000 + now)) })
          }
        })
        return due
      }),
    )
  }
  let deliveries = 0
  const phase = { awareness: 0, update: 0, flush: 0 }
  let cpuStart = process.cpuUsage()
  let wallStart = performance.now()
  for (let tick = 0; tick < warmup + ticks; tick++) {
    if (tick === warmup) {
      deliveries = 0
      phase.awareness = phase.update = phase.flush = 0
      cpuStart = process.cpuUsage()
      wallStart = performance.now()
    }
    for (const [r, { room }] of rooms.entries()) {
      for (const { client, frame, kind } of plan[tick]![r]!) {
        const t = performance.now()
        room.receive(client.conn, frame)
        phase[kind] += performance.now() - t
        deliveries += PEERS - 1
      }
      const t = performance.now()
      await room.flush()
      phase.flush += performance.now() - t
    }
  }
  const cpu = process.cpuUsage(cpuStart)
  const wall = performance.now() - wallStart
  const cpuUs = cpu.user + cpu.system
  const perDelivery = (ms: number) => ((ms * 1000) / deliveries).toFixed(2)
  console.log(
    `${ROOMS} rooms × ${PEERS} peers, ${SECONDS} s of load: ${deliveries.toLocaleString('en-US')} deliveries in ${wall.toFixed(0)} ms wall, ` +
      `${(cpuUs / deliveries).toFixed(2)} µs CPU per delivery`,
  )
  console.log(
    `  of which (wall, µs per delivery): receiving awareness ${perDelivery(phase.awareness)}, receiving updates ${perDelivery(phase.update)}, ` +
      `flushes (store, fan-out) ${perDelivery(phase.flush)}`,
  )
  for (const { room } of rooms) await room.unload({ force: true })
}

void main()
