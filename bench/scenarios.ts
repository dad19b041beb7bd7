/**
 * The four scenarios. Each gets a freshly started server child and returns one figure
 * plus the details needed to trust it (CPU of server and generators, p99, arrival).
 */
import fs from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { type Child, spawnChild } from './child'
import type { AddRequest, WindowReport } from './loadgen'
import type { ServerStats } from './servers/harness'
import { authFrame, type Framing, RecordWriter, scanFrame, syncStep1Frame, updateFrame } from './wire'

const HERE = path.dirname(fileURLToPath(import.meta.url))

export interface ServerKind {
  name: 'ours' | 'baseline' | 'reference' | 'hocuspocus'
  script: string
  framing: Framing
  /** Node flags the server is run with outside the bench. */
  nodeFlags?: string[]
  /** Environment of the server child (the baseline: which tree to run). */
  env?: Record<string, string>
}

/**
 * The Node flags of `npm run sync` (and `npm start`) in the measured tree's package.json,
 * e.g. `--max-semi-space-size=64`: the bench runs our server as users run it.
 */
export function ourNodeFlags(root = process.env.BENCH_OURS_DIR ?? path.join(HERE, '..')): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  return pkg.scripts.sync!.split(/\s+/).filter((word) => /^--[a-z-]+=/.test(word))
}

/**
 * BENCH_BASELINE_DIR: another tree of our server (an earlier commit, see bench/README.md),
 * measured in the same run as `baseline`, so a change is judged against what it replaced
 * on the same machine at the same time.
 */
const baselineDir = process.env.BENCH_BASELINE_DIR ? path.resolve(process.env.BENCH_BASELINE_DIR) : null

export const SERVERS: ServerKind[] = [
  { name: 'ours', script: 'servers/ours.ts', framing: 'yws', nodeFlags: ourNodeFlags() },
  ...(baselineDir
    ? [
        {
          name: 'baseline' as const,
          script: 'servers/ours.ts',
          framing: 'yws' as const,
          nodeFlags: ourNodeFlags(baselineDir),
          env: { BENCH_OURS_DIR: baselineDir },
        },
      ]
    : []),
  { name: 'reference', script: 'servers/reference.ts', framing: 'yws' },
  { name: 'hocuspocus', script: 'servers/hocuspocus.ts', framing: 'hocus' },
]

export interface Settings {
  quick: boolean
  generators: number
  warmupMs: number
  measureMs: number
  /** BENCH_STEPS: replaces the step list (rooms or peers), e.g. to profile one load. */
  steps?: number[]
  log: (line: string) => void
}

export interface RunningServer {
  child: Child
  url: string
  stats(): Promise<ServerStats>
}

export async function startServerChild(kind: ServerKind): Promise<RunningServer> {
  // --expose-gc lets idle memory force a collection; it costs nothing otherwise.
  // BENCH_SERVER_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawnChild(path.join(HERE, kind.script), { execArgv: ['--expose-gc', ...(kind.nodeFlags ?? []), ...extra], env: kind.env })
  const { port } = await child.once<{ port: number }>('ready', 30_000)
  return { child, url: `ws://127.0.0.1:${port}`, stats: () => child.request<ServerStats>('stats') }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * One measured step from the generators' window reports and the server CPU over the same
 * window: deliveries, p99 of the summed latency histograms, arrival, and the pass rule
 * (p99 ≤ 100 ms, ≥ 95 % arrived, no disconnects).
 */
export function judgeStep(
  load: number,
  reports: WindowReport[],
  server: { cpuPercent: number; cpuUs: number; loopMaxMs: number },
): StepResult {
  const seconds = reports[0]!.seconds
  const hist = reports[0]!.hist.map((_, i) => reports.reduce((sum, r) => sum + r.hist[i]!, 0))
  const delivered = reports.reduce((a, r) => a + r.delivered, 0)
  const expected = reports.reduce((a, r) => a + r.expected, 0)
  const disconnects = reports.reduce((a, r) => a + r.disconnects, 0)
  const lateTicks = reports.reduce((a, r) => a + r.lateTicks, 0)
  const p99 = percentile(hist, 0.99)
  const arrival = expected === 0 ? 0 : delivered / expected
  return {
    load,
    deliveriesPerSec: delivered / seconds,
    p99,
    arrival,
    disconnects,
    serverCpu: server.cpuPercent,
    serverUsPerDelivery: delivered === 0 ? NaN : server.cpuUs / delivered,
    serverLoopMaxMs: server.loopMaxMs,
    genCpu: reports.map((r) => (r.cpuMs / 1000 / seconds) * 100),
    lateTicks,
    generatorBound: lateTicks > 0.01 * reports.reduce((a, r) => a + r.sent, 0),
    pass: p99 <= 100 && arrival >= 0.95 && disconnects === 0,
  }
}

/** One line per step: `prefix` names the server and the load's unit. */
export function logStep(settings: Settings, prefix: string, r: StepResult): void {
  settings.log(
    `  ${prefix}${String(r.load).padStart(4)}  ` +
      `${fmtInt(r.deliveriesPerSec).padStart(8)} deliveries/s  p99 ${fmtMs(r.p99).padStart(7)}  ` +
      `arrived ${(r.arrival * 100).toFixed(1).padStart(5)}%  server CPU ${r.serverCpu.toFixed(0).padStart(3)}% = ${r.serverUsPerDelivery.toFixed(2)} µs/delivery (loop stall ≤${fmtMs(r.serverLoopMaxMs)})  ` +
      `gen CPU ${r.genCpu.map((c) => c.toFixed(0)).join('/')}%  load avg ${os.loadavg()[0]!.toFixed(1)}` +
      (r.disconnects ? `  DISCONNECTS ${r.disconnects}` : '') +
      (r.lateTicks ? `  generator late ${r.lateTicks}x` : '') +
      (r.pass ? '' : '  FAIL'),
  )
}

export interface StepResult {
  load: number
  deliveriesPerSec: number
  p99: number
  arrival: number
  disconnects: number
  serverCpu: number
  /** Server CPU time (all processes of the target) per delivery in the window: what a delivery costs, whatever the generators can offer. */
  serverUsPerDelivery: number
  /** Longest event-loop stall of the server during the window. */
  serverLoopMaxMs: number
  /** Per generator process, % of one core. */
  genCpu: number[]
  lateTicks: number
  /** Over 1 % of sends were late: the generators, not the server, set the pace. */
  generatorBound: boolean
  pass: boolean
}

export interface SteppedResult {
  /** Best passing deliveries/s (0 if no step passed). */
  score: number
  best: StepResult | null
  steps: StepResult[]
  /** True if the generators fell behind at the last step: the score may be the generator's. */
  generatorBound: boolean
}

function percentile(hist: number[], q: number): number {
  const total = hist.reduce((a, b) => a + b, 0)
  if (total === 0) return Infinity
  const target = Math.ceil(total * q)
  let seen = 0
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!
    if (seen >= target) return i
  }
  return hist.length - 1
}

export interface StepPlan {
  label: string
  awarenessHz: number
  updateHz: number
  steps: Array<{ load: number; rooms: Record<string, number> }>
}

/** Where the clients connect: one server, or several instances of ours. */
export interface LoadTarget {
  url: string
  stats(): Promise<ServerStats>
}

/**
 * Adds load step by step (rooms for many-rooms, peers for big-room) until a step fails
 * the criteria twice (see measure), a client is dropped, a server stops answering or the
 * generators fall behind. Peer i of a room connects to target i mod n; server CPU is the
 * sum over targets (% of one core), the loop stall the worst of them.
 */
export async function stepLoad(
  targets: LoadTarget[],
  framing: Framing,
  /** Starts each step's log line, e.g. `ours       rooms=`. */
  prefix: string,
  settings: Settings,
  plan: StepPlan,
): Promise<SteppedResult> {
  const gens: Child[] = []
  try {
    for (let i = 0; i < settings.generators; i++) gens.push(spawnChild(path.join(HERE, 'loadgen.ts')))
    await Promise.all(gens.map((g) => g.once('ready', 30_000)))
    const present: Record<string, number> = {}
    let nextGen = 0
    const steps: StepResult[] = []
    let best: StepResult | null = null
    let generatorBound = false
    const stats = () => Promise.all(targets.map((t) => t.stats()))
    const measure = async (load: number): Promise<StepResult> => {
      await sleep(settings.warmupMs)
      const before = await stats()
      await Promise.all(gens.map((g) => g.request('window-start')))
      await sleep(settings.measureMs)
      const reports = await Promise.all(gens.map((g) => g.request<WindowReport>('window-end')))
      const after = await stats()
      const result = judgeStep(load, reports, {
        cpuPercent: after.reduce((sum, a, i) => sum + ((a.cpuUs - before[i]!.cpuUs) / 1000 / (a.wallMs - before[i]!.wallMs)) * 100, 0),
        cpuUs: after.reduce((sum, a, i) => sum + (a.cpuUs - before[i]!.cpuUs), 0),
        loopMaxMs: Math.max(...after.map((a) => a.loopMaxMs)),
      })
      logStep(settings, prefix, result)
      return result
    }
    for (const step of plan.steps) {
      // New clients: the difference between the rooms wanted and those present, spread over
      // generators, and per generator over targets.
      const perGen = gens.map(() => targets.map((): AddRequest['clients'] => []))
      for (const [room, size] of Object.entries(step.rooms)) {
        for (let peer = present[room] ?? 0; peer < size; peer++)
          perGen[nextGen++ % gens.length]![peer % targets.length]!.push({ room, peer })
        present[room] = size
      }
      let result: StepResult
      try {
        await Promise.all(
          gens.map(async (g, gi) => {
            for (const [ti, target] of targets.entries()) {
              const clients = perGen[gi]![ti]!
              // The first target always hears of the step: the room sizes tell a generator
              // how many deliveries its existing clients should now expect.
              if (clients.length === 0 && ti > 0) continue
              await g.request(
                'add',
                {
                  url: target.url,
                  framing,
                  clients,
                  roomSizes: step.rooms,
                  awarenessHz: plan.awarenessHz,
                  updateHz: plan.updateHz,
                } satisfies AddRequest,
                120_000,
              )
            }
          }),
        )
        result = await measure(step.load)
        // The machine is shared: a stall elsewhere can fail one window. Measure a failed
        // step once more (unless someone was dropped) before believing it.
        if (!result.pass && result.disconnects === 0) result = await measure(step.load)
      } catch (err) {
        // A server too swamped to answer its stats or to take the new clients fails the
        // step; what it passed before still counts.
        settings.log(`  ${prefix}${String(step.load).padStart(4)}  FAIL: ${err instanceof Error ? err.message : String(err)}`)
        break
      }
      steps.push(result)
      if (result.pass && (!best || result.deliveriesPerSec > best.deliveriesPerSec)) best = result
      generatorBound = result.generatorBound
      if (!result.pass || generatorBound) break
    }
    return { score: best?.deliveriesPerSec ?? 0, best, steps, generatorBound }
  } finally {
    await Promise.allSettled(gens.map((g) => g.kill()))
  }
}

/** One server of `kind`, started for this scenario, under `plan`. */
export async function stepped(kind: ServerKind, settings: Settings, plan: StepPlan): Promise<SteppedResult> {
  const server = await startServerChild(kind)
  try {
    return await stepLoad([server], kind.framing, `${kind.name.padEnd(10)} ${plan.label}=`, settings, plan)
  } finally {
    await server.child.kill()
  }
}

export function manyRoomsPlan(settings: Settings, run: string) {
  const counts =
    settings.steps ?? (settings.quick ? [2, 6, 12] : [2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 64, 72, 80, 88, 96, 112, 128])
  return {
    label: 'rooms',
    awarenessHz: 20,
    updateHz: 5,
    steps: counts.map((n) => ({
      load: n,
      rooms: Object.fromEntries(Array.from({ length: n }, (_, i) => [`${run}-many-${i}`, 10])),
    })),
  }
}

export function bigRoomPlan(settings: Settings, run: string) {
  const peers = settings.steps ?? (settings.quick ? [10, 40, 80] : [10, 20, 40, 60, 80, 100, 120, 150, 200, 250, 300, 400])
  return {
    label: 'peers',
    awarenessHz: 10,
    updateHz: 2,
    steps: peers.map((n) => ({ load: n, rooms: { [`${run}-big`]: n } })),
  }
}

/** One raw client: connects, (authenticates,) asks for the whole document. */
export function openClient(
  url: string,
  framing: Framing,
  room: string,
  onStep2: (payload: Uint8Array, bytesSoFar: number) => void,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/sync/${room}`, { perMessageDeflate: false })
    let bytes = 0
    let done = false
    const timer = setTimeout(() => reject(new Error(`${room}: not synced within 60 s`)), 60_000)
    ws.on('open', () => {
      const auth = authFrame(framing, room)
      if (auth) ws.send(auth)
      ws.send(syncStep1Frame(framing, room))
    })
    ws.on('message', (data: Buffer) => {
      bytes += data.length
      if (done) return
      const r = scanFrame(framing, data, -1, 0, () => {})
      if (r.kind === 'step2') {
        done = true
        clearTimeout(timer)
        onStep2(r.payload!, bytes)
        resolve(ws)
      }
    })
    ws.on('error', (err) => reject(err))
    ws.on('close', () => {
      clearTimeout(timer)
      if (!done) reject(new Error(`${room}: closed before sync`))
    })
  })
}

export interface ColdResult {
  ms: number
  bytes: number
  runs: number[]
}

/**
 * A room with 10,000 shape records, written through a client that stays connected (so
 * servers without persistence keep it); then fresh clients join one after another and
 * we time each from `new WebSocket` to the received state applied to an empty Y.Doc.
 */
export async function coldLoad(kind: ServerKind, settings: Settings, run: string): Promise<ColdResult> {
  const server = await startServerChild(kind)
  const room = `${run}-cold`
  const records = 10_000
  const holders: WebSocket[] = []
  try {
    const writer = new RecordWriter()
    const holder = await openClient(server.url, kind.framing, room, () => {})
    holders.push(holder)
    // 1,000 records per update keeps every frame well under message size limits (ours: 2 MiB).
    for (let first = 0; first < records; first += 1000) {
      holder.send(updateFrame(kind.framing, room, writer.writeMany(first, 1000, Date.now())))
    }
    // Wait until a fresh client sees all of it.
    const deadline = Date.now() + 60_000
    for (;;) {
      let count = 0
      const probe = await openClient(server.url, kind.framing, room, (payload) => {
        const doc = new Y.Doc()
        Y.applyUpdate(doc, payload)
        count = doc.getArray('records').length
      })
      probe.terminate()
      if (count === records) break
      if (Date.now() > deadline) throw new Error(`${kind.name}: room holds ${count} of ${records} records after 60 s`)
      await sleep(200)
    }
    const runs: number[] = []
    let bytes = 0
    for (let i = 0; i < (settings.quick ? 3 : 5); i++) {
      await sleep(300)
      const started = performance.now()
      let elapsed = 0
      const ws = await openClient(server.url, kind.framing, room, (payload, received) => {
        const doc = new Y.Doc()
        Y.applyUpdate(doc, payload)
        elapsed = performance.now() - started
        bytes = received
        if (doc.getArray('records').length !== records) throw new Error(`${kind.name}: fresh client got a partial document`)
      })
      ws.terminate()
      runs.push(elapsed)
    }
    const ms = median(runs)
    settings.log(`  ${kind.name.padEnd(10)} cold load ${fmtMs(ms)} median of [${runs.map(fmtMs).join(', ')}], ${fmtBytes(bytes)} received`)
    return { ms, bytes, runs }
  } finally {
    for (const h of holders) h.terminate()
    await server.child.kill()
  }
}

export interface IdleResult {
  bytesPerRoom: number
  /** The same, read 45 s after the last change before the bench forces a collection (what an operator sees). */
  unforcedBytesPerRoom: number
  baselineRss: number
  rss: number
}

/** Many idle rooms, one connection each that wrote 200 records: server RSS per room. */
export async function idleMemory(kind: ServerKind, settings: Settings, run: string): Promise<IdleResult> {
  const server = await startServerChild(kind)
  const rooms = settings.quick ? 200 : 2000
  const sockets: WebSocket[] = []
  try {
    // One update reused for every room: each room is its own document, so that is valid,
    // and it keeps the client side cheap.
    const update = new RecordWriter().writeMany(0, 200, Date.now())
    // Warm the server's code paths (and lazy allocations) before the baseline.
    const warm = await openClient(server.url, kind.framing, `${run}-idle-warmup`, () => {})
    warm.send(updateFrame(kind.framing, `${run}-idle-warmup`, update))
    await sleep(500)
    await server.child.request('gc')
    await sleep(500)
    const { rss: baseline, heapUsed: baselineHeap, arrayBuffers: baselineBuffers } = await server.stats()
    for (let i = 0; i < rooms; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, rooms - i) }, (_, j) => openClient(server.url, kind.framing, `${run}-idle-${i + j}`, () => {})),
      )
      batch.forEach((ws, j) => ws.send(updateFrame(kind.framing, `${run}-idle-${i + j}`, update)))
      sockets.push(...batch)
    }
    // Idle means idle: every server gets 45 s without changes (ours sends a board that has been
    // still for DORMANT_AFTER_MS, 30 s, to sleep at the next 10 s heartbeat), then a collection.
    // Hocuspocus drops idle sockets after 60 s; we stay under that.
    await sleep(settings.quick ? 1500 : 45_000)
    const unforced = (await server.stats()).rss
    await server.child.request('gc')
    await sleep(1000)
    const after = await server.stats()
    const rss = after.rss
    const bytesPerRoom = (rss - baseline) / rooms
    const perRoom = (bytes: number) => `${fmtBytes(bytes / rooms)}/room`
    settings.log(
      `  ${kind.name.padEnd(10)} idle memory ${fmtBytes(bytesPerRoom)}/room (RSS ${fmtBytes(baseline)} → ${fmtBytes(rss)}; ` +
        `before the forced GC ${perRoom(unforced - baseline)}; JS heap ${perRoom(after.heapUsed - baselineHeap)}, ` +
        `buffers ${perRoom(after.arrayBuffers - baselineBuffers)}; ${rooms} rooms)`,
    )
    warm.terminate()
    return { bytesPerRoom, unforcedBytesPerRoom: (unforced - baseline) / rooms, baselineRss: baseline, rss }
  } finally {
    for (const ws of sockets) ws.terminate()
    await server.child.kill()
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
export const fmtMs = (ms: number) => (Number.isFinite(ms) ? (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`) : '—')
export function fmtBytes(n: number): string {
  if (Math.abs(n) >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (Math.abs(n) >= 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${n.toFixed(0)} B`
}
