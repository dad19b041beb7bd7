/**
 * `npm run bench`: our server, the reference y-websocket server and Hocuspocus under the
 * same load, in one run, each in its own process; a table of medians at the end.
 *
 * Knobs (env):
 *   BENCH_QUICK=1        a short smoke run (few, short steps; 200 idle rooms)
 *   BENCH_REPEAT=n       run everything n times and report medians (default 1; 3 for the README)
 *   BENCH_ONLY=a,b       only these scenarios (many-rooms, big-room, cold-load, idle-memory, multi-instance)
 *                        and/or servers (ours, reference, hocuspocus)
 *   BENCH_GENERATORS=n   load generator processes (default 2)
 *   BENCH_WARMUP_MS, BENCH_MEASURE_MS   per-step warm-up and measuring window
 *   BENCH_STEPS=100,120  replace the step list (rooms or peers), e.g. to profile one load
 *   BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   extra node flags for the servers
 *   BENCH_OURS_DIR=dir   measure another tree as `ours`
 *   BENCH_BASELINE_DIR=dir   also measure another tree as `baseline`, with an ours/baseline column
 */
import os from 'node:os'
import { killAllChildren, runBenchMain } from './child'
import {
  bigRoomPlan,
  coldLoad,
  fmtBytes,
  fmtInt,
  fmtMs,
  idleMemory,
  manyRoomsPlan,
  median,
  SERVERS,
  type ServerKind,
  type Settings,
  type SteppedResult,
  stepped,
} from './scenarios'
import { multiInstanceRows } from './multiInstance'

const SCENARIOS = ['many-rooms', 'big-room', 'cold-load', 'idle-memory'] as const
type Scenario = (typeof SCENARIOS)[number]

const env = process.env
const quick = env.BENCH_QUICK === '1'
const repeat = Math.max(1, Number(env.BENCH_REPEAT ?? 1) || 1)
const only = (env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
// Not a per-server scenario: our server alone, one process beside two instances on PostgreSQL + Redis.
const MULTI = 'multi-instance'
const includeMulti = only.length === 0 || only.includes(MULTI)
const onlyScenarios = only.filter((s): s is Scenario => (SCENARIOS as readonly string[]).includes(s))
const onlyServers = only.filter((s) => SERVERS.some((k) => k.name === s))
const unknown = only.filter((s) => s !== MULTI && !onlyScenarios.includes(s as Scenario) && !onlyServers.includes(s))
if (unknown.length) {
  console.error(`BENCH_ONLY: unknown ${unknown.join(', ')}; use ${[...SCENARIOS, ...SERVERS.map((k) => k.name)].join(', ')}`)
  process.exit(2)
}
const scenarios = onlyScenarios.length
  ? SCENARIOS.filter((s) => onlyScenarios.includes(s))
  : only.length && includeMulti
    ? []
    : [...SCENARIOS]
const servers = onlyServers.length ? SERVERS.filter((k) => onlyServers.includes(k.name)) : SERVERS

const settings: Settings = {
  quick,
  generators: Math.max(1, Number(env.BENCH_GENERATORS ?? 2) || 2),
  warmupMs: Number(env.BENCH_WARMUP_MS ?? (quick ? 700 : 1500)),
  measureMs: Number(env.BENCH_MEASURE_MS ?? (quick ? 1500 : 3500)),
  steps: env.BENCH_STEPS ? env.BENCH_STEPS.split(',').map(Number) : undefined,
  log: (line) => console.log(line),
}

/** Every figure of every run, by scenario and server: medians are taken at the end. */
type Figures = Record<string, Record<string, number[]>>
const figures: Figures = {}
const details: Record<string, Record<string, string[]>> = {}
function record(row: string, server: string, value: number, detail?: string): void {
  ;((figures[row] ??= {})[server] ??= []).push(value)
  if (detail) ((details[row] ??= {})[server] ??= []).push(detail)
}

function describeStepped(r: SteppedResult): string {
  const b = r.best
  if (!b) return 'no step passed'
  return (
    `at ${b.load}: p99 ${fmtMs(b.p99)}, ${(b.arrival * 100).toFixed(1)}% arrived, server CPU ${b.serverCpu.toFixed(0)}% (${b.serverUsPerDelivery.toFixed(2)} µs/delivery), ` +
    `gen CPU ${b.genCpu.map((c) => c.toFixed(0)).join('/')}%${r.generatorBound ? ', GENERATOR-BOUND' : ''}`
  )
}

async function runScenario(scenario: Scenario, kind: ServerKind, run: string): Promise<void> {
  switch (scenario) {
    case 'many-rooms': {
      const r = await stepped(kind, settings, manyRoomsPlan(settings, run))
      record('many rooms: deliveries/s', kind.name, r.score, describeStepped(r))
      if (r.best) record('many rooms: server µs/delivery', kind.name, r.best.serverUsPerDelivery)
      return
    }
    case 'big-room': {
      const r = await stepped(kind, settings, bigRoomPlan(settings, run))
      record('one big room: deliveries/s', kind.name, r.score, describeStepped(r))
      if (r.best) record('one big room: server µs/delivery', kind.name, r.best.serverUsPerDelivery)
      return
    }
    case 'cold-load': {
      const r = await coldLoad(kind, settings, run)
      record('cold load 10k records: ms', kind.name, r.ms)
      record('cold load: bytes received', kind.name, r.bytes)
      return
    }
    case 'idle-memory': {
      const r = await idleMemory(kind, settings, run)
      record('idle memory: bytes/room', kind.name, r.bytesPerRoom)
      record('idle memory, before a forced GC: bytes/room', kind.name, r.unforcedBytesPerRoom)
      return
    }
  }
}

function formatValue(row: string, v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '—'
  if (row.endsWith(': ms')) return fmtMs(v)
  if (row.endsWith('µs/delivery')) return v.toFixed(2)
  if (row.includes(': bytes')) return fmtBytes(v)
  return fmtInt(v)
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !b) return '—'
  return `${(a / b).toFixed(2)}×`
}

function table(): string {
  const withBaseline = Object.values(figures).some((byServer) => byServer.baseline)
  const header = ['scenario', 'ours', ...(withBaseline ? ['baseline'] : []), 'reference', 'hocuspocus', 'ours/ref', 'ours/hocus']
  if (withBaseline) header.push('ours/baseline')
  const rows = Object.entries(figures).map(([row, byServer]) => {
    const m = (s: string) => (byServer[s] ? median(byServer[s]!) : undefined)
    return [
      row,
      formatValue(row, m('ours')),
      ...(withBaseline ? [formatValue(row, m('baseline'))] : []),
      formatValue(row, m('reference')),
      formatValue(row, m('hocuspocus')),
      ratio(m('ours'), m('reference')),
      ratio(m('ours'), m('hocuspocus')),
      ...(withBaseline ? [ratio(m('ours'), m('baseline'))] : []),
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

function detailLines(): string {
  const out: string[] = []
  for (const [row, byServer] of Object.entries(details)) {
    for (const [server, lines] of Object.entries(byServer)) {
      const runs = figures[row]![server]!.map((v) => formatValue(row, v)).join(', ')
      out.push(`- ${row}, ${server}: runs [${runs}]; ${lines.join(' | ')}`)
    }
  }
  return out.join('\n')
}

async function main(): Promise<void> {
  console.log(
    `sketchroom bench — ${new Date().toISOString()} — node ${process.version}, ${os.cpus().length} cores ` +
      `(${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB — ${settings.generators} generator processes` +
      `${quick ? ' — QUICK' : ''}, ${repeat} run(s)`,
  )
  for (let i = 0; i < repeat; i++) {
    const run = `b${Date.now().toString(36)}`
    for (const scenario of scenarios) {
      console.log(`\n[run ${i + 1}/${repeat}] ${scenario}`)
      for (const kind of servers) {
        try {
          await runScenario(scenario, kind, run)
        } catch (err) {
          console.log(`  ${kind.name}: FAILED: ${err instanceof Error ? err.message : String(err)}`)
          killAllChildren()
        }
      }
    }
    if (includeMulti) {
      console.log(`\n[run ${i + 1}/${repeat}] ${MULTI} (many-rooms load, ours only)`)
      try {
        const { single, multi } = await multiInstanceRows(settings, run)
        const describe = (r: SteppedResult) => (r.best ? `at ${r.best.load}: p99 ${fmtMs(r.best.p99)}` : 'no step passed')
        record('multi-instance, 1 process (SQLite): deliveries/s', 'ours', single.score, describe(single))
        record('multi-instance, 2 instances (PostgreSQL + Redis): deliveries/s', 'ours', multi.score, describe(multi))
      } catch (err) {
        console.log(`  multi-instance: FAILED: ${err instanceof Error ? err.message : String(err)}`)
        killAllChildren()
      }
    }
    // After every run, so an interrupted long run still leaves figures.
    console.log(`\nMedians of ${i + 1} run(s):\n\n${table()}\n\n${detailLines()}`)
  }
}

runBenchMain(main)
