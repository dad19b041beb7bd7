/**
 * A load generator process. The bench runs several, each owning a share of the clients,
 * because one Node process saturates its core long before a good server does.
 *
 * Clients speak raw frames over `ws` (no providers): a real Yjs update from a per-client
 * Y.Doc for each shape move, a hand-encoded awareness entry for each cursor move. One
 * scheduler tick drives all clients, so thousands of clients cost one timer.
 *
 * Requests (see child.ts): add, window-start, window-end, close.
 */
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { answer } from './child'
import { authFrame, awarenessFrame, awarenessJson, type Framing, RecordWriter, scanFrame, syncStep1Frame, updateFrame } from './wire'

export interface ClientSpec {
  room: string
  peer: number
}

export interface AddRequest {
  url: string
  framing: Framing
  clients: ClientSpec[]
  /** Peers per room after this step, for expected deliveries: each message should reach size - 1. */
  roomSizes: Record<string, number>
  awarenessHz: number
  updateHz: number
}

/** Latency histogram: 1 ms buckets up to 2 s, the last bucket holds everything slower. */
export const HIST_BUCKETS = 2001

export interface WindowReport {
  seconds: number
  sent: number
  expected: number
  delivered: number
  hist: number[]
  disconnects: number
  cpuMs: number
  /** Sends due but not made because the process fell behind (generator-bound). */
  lateTicks: number
}

const COLORS = ['#e03131', '#1971c2', '#2f9e44', '#f08c00', '#9c36b5', '#0c8599']

class Client {
  readonly writer = new RecordWriter()
  ws: WebSocket | null = null
  synced = false
  closed = false
  clock = 0
  nextAwareness = 0
  nextUpdate = 0
  moves = 0
  private readonly name: string

  constructor(
    readonly spec: ClientSpec,
    private readonly gen: Generator,
  ) {
    this.name = `peer-${spec.room.slice(-6)}-${spec.peer}`
  }

  connect(url: string, framing: Framing): Promise<void> {
    const { room } = this.spec
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/sync/${room}`, { perMessageDeflate: false })
      this.ws = ws
      const timer = setTimeout(() => reject(new Error(`client ${this.name} not synced within 20 s`)), 20_000)
      ws.on('open', () => {
        const auth = authFrame(framing, room)
        if (auth) ws.send(auth)
        ws.send(syncStep1Frame(framing, room))
      })
      ws.on('message', (data: Buffer) => {
        const now = Date.now()
        const r = scanFrame(framing, data, this.writer.clientId, now, this.gen.latency)
        this.gen.delivered += r.count
        if (r.kind === 'step2' && !this.synced) {
          this.synced = true
          clearTimeout(timer)
          resolve()
        }
      })
      ws.on('close', () => {
        if (!this.closed) this.gen.disconnects++
        this.closed = true
        clearTimeout(timer)
        reject(new Error(`client ${this.name} closed before sync`))
      })
      ws.on('error', () => {
        // 'close' follows and counts it.
      })
    })
  }

  sendAwareness(framing: Framing, now: number): void {
    const x = Math.round(500 + 400 * Math.sin(now / 700 + this.spec.peer))
    const y = Math.round(400 + 300 * Math.cos(now / 900 + this.spec.peer))
    const json = awarenessJson(now, this.writer.clientId, this.name, COLORS[this.spec.peer % COLORS.length]!, x, y)
    this.ws!.send(awarenessFrame(framing, this.spec.room, this.writer.clientId, ++this.clock, json))
  }

  sendUpdate(framing: Framing, now: number): void {
    const update = this.writer.move(`p${this.writer.clientId}`, this.spec.peer, now)
    this.moves++
    this.ws!.send(updateFrame(framing, this.spec.room, update))
  }
}

class Generator {
  clients: Client[] = []
  readonly roomSizes = new Map<string, number>()
  framing: Framing = 'yws'
  awarenessMs = 50
  updateMs = 200
  delivered = 0
  sent = 0
  expected = 0
  disconnects = 0
  lateTicks = 0
  hist = new Array<number>(HIST_BUCKETS).fill(0)
  private windowStart = 0
  private cpuStart = process.cpuUsage()
  private ticking = false

  readonly latency = (ms: number): void => {
    const b = ms < 0 ? 0 : ms >= HIST_BUCKETS - 1 ? HIST_BUCKETS - 1 : ms
    this.hist[b]!++
  }

  async add(req: AddRequest): Promise<{ added: number }> {
    this.framing = req.framing
    this.awarenessMs = 1000 / req.awarenessHz
    this.updateMs = 1000 / req.updateHz
    for (const [room, size] of Object.entries(req.roomSizes)) this.roomSizes.set(room, size)
    const fresh = req.clients.map((spec) => new Client(spec, this))
    // Connect in small batches: a thousand simultaneous upgrades would measure the accept queue.
    for (let i = 0; i < fresh.length; i += 50) {
      await Promise.all(fresh.slice(i, i + 50).map((c) => c.connect(req.url, req.framing)))
    }
    const now = Date.now()
    for (const c of fresh) {
      // Random phases, as real users are not synchronised.
      c.nextAwareness = now + Math.random() * this.awarenessMs
      c.nextUpdate = now + Math.random() * this.updateMs
    }
    this.clients.push(...fresh)
    if (!this.ticking) {
      this.ticking = true
      this.tick()
    }
    return { added: fresh.length }
  }

  /** One timer for all clients: send whatever is due, then sleep until the next 5 ms slot. */
  private tick = (): void => {
    const now = Date.now()
    const framing = this.framing
    for (const c of this.clients) {
      if (c.closed) continue
      const fanout = (this.roomSizes.get(c.spec.room) ?? 1) - 1
      if (now >= c.nextAwareness) {
        c.sendAwareness(framing, now)
        this.sent++
        this.expected += fanout
        c.nextAwareness += this.awarenessMs
        // More than one period behind: this process cannot keep up; skip rather than burst.
        if (now - c.nextAwareness > this.awarenessMs) {
          this.lateTicks++
          c.nextAwareness = now + this.awarenessMs
        }
      }
      if (now >= c.nextUpdate) {
        c.sendUpdate(framing, now)
        this.sent++
        this.expected += fanout
        c.nextUpdate += this.updateMs
        if (now - c.nextUpdate > this.updateMs) {
          this.lateTicks++
          c.nextUpdate = now + this.updateMs
        }
      }
    }
    if (this.ticking) setTimeout(this.tick, 5)
  }

  windowStartNow(): void {
    this.delivered = 0
    this.sent = 0
    this.expected = 0
    this.lateTicks = 0
    this.hist.fill(0)
    this.windowStart = performance.now()
    this.cpuStart = process.cpuUsage()
  }

  windowEnd(): WindowReport {
    const cpu = process.cpuUsage(this.cpuStart)
    return {
      seconds: (performance.now() - this.windowStart) / 1000,
      sent: this.sent,
      expected: this.expected,
      delivered: this.delivered,
      hist: [...this.hist],
      disconnects: this.disconnects,
      cpuMs: (cpu.user + cpu.system) / 1000,
      lateTicks: this.lateTicks,
    }
  }

  close(): void {
    this.ticking = false
    for (const c of this.clients) {
      c.closed = true
      c.ws?.terminate()
    }
    this.clients = []
  }
}

const gen = new Generator()
answer({
  add: (msg) => gen.add(msg as unknown as AddRequest),
  'window-start': () => {
    gen.windowStartNow()
    return {}
  },
  'window-end': () => gen.windowEnd(),
  close: () => {
    gen.close()
    return {}
  },
})
process.send?.({ type: 'ready' })
