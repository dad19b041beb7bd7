/**
 * The multi-instance row: the many-rooms fan-out load of `npm run bench` (rooms of 10
 * peers, cursors at 20 Hz, shape moves at 5 Hz), with each room's peers spread over two
 * instances on PostgreSQL + Redis (even peers on one, odd on the other, so every message
 * crosses the bus to half its recipients), beside the same load on one process (SQLite).
 *
 *   tsx bench/multiInstance.ts            (BENCH_QUICK=1 for a short run)
 *
 * Same knobs as bench/run.ts: BENCH_QUICK, BENCH_GENERATORS, BENCH_WARMUP_MS,
 * BENCH_MEASURE_MS, BENCH_STEPS; plus DATABASE_URL and REDIS_URL (defaults: this machine).
 * Each run uses its own PostgreSQL schema and Redis prefix and drops the schema after.
 * Everything shares this machine's cores, PostgreSQL and Redis included: the figure shows
 * what replication costs, not what more machines would gain.
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { type Child, runBenchMain, spawnChild } from './child'
import { fmtInt, fmtMs, manyRoomsPlan, ourNodeFlags, type Settings, type SteppedResult, stepLoad } from './scenarios'
import type { ServerStats } from './servers/harness'

const HERE = path.dirname(fileURLToPath(import.meta.url))

interface Instance {
  child: Child
  url: string
  stats(): Promise<ServerStats>
}

async function startInstance(script: string, env: Record<string, string> = {}): Promise<Instance> {
  const child = spawnChild(path.join(HERE, script), { env: { ...process.env, ...env }, execArgv: ourNodeFlags() })
  const { port } = await child.once<{ port: number }>('ready', 30_000)
  return { child, url: `ws://127.0.0.1:${port}`, stats: () => child.request<ServerStats>('stats') }
}

/** The many-rooms load over `instances`: peer i of a room connects to instance i mod n. */
export function steppedOver(label: string, instances: Instance[], settings: Settings, run: string): Promise<SteppedResult> {
  return stepLoad(instances, 'yws', `${label.padEnd(12)} rooms=`, settings, manyRoomsPlan(settings, run))
}

/** The two figures: one process on SQLite, and two instances on PostgreSQL + Redis. */
export async function multiInstanceRows(settings: Settings, run: string): Promise<{ single: SteppedResult; multi: SteppedResult }> {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const schema = `sketchroom_bench_${randomBytes(5).toString('hex')}`
  const env = { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema, REDIS_URL: redisUrl, REDIS_PREFIX: `sketchroom-bench-${schema}:` }

  settings.log('\none process (SQLite)')
  const one = await startInstance('servers/ours.ts')
  let single: SteppedResult
  try {
    single = await steppedOver('1 process', [one], settings, `${run}-1`)
  } finally {
    await one.child.kill()
  }

  settings.log('\ntwo instances (PostgreSQL + Redis), each room split across both')
  const two: Instance[] = []
  let multi: SteppedResult
  try {
    // One after the other: both would create the schema at once (harmless, but noisy).
    two.push(await startInstance('servers/oursShared.ts', env))
    two.push(await startInstance('servers/oursShared.ts', env))
    multi = await steppedOver('2 instances', two, settings, `${run}-2`)
  } finally {
    await Promise.allSettled(two.map((s) => s.child.kill()))
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
  return { single, multi }
}

function describe(r: SteppedResult): string {
  const b = r.best
  if (!b) return 'no step passed'
  return `at ${b.load} rooms: p99 ${fmtMs(b.p99)}, ${(b.arrival * 100).toFixed(1)}% arrived, server CPU ${b.serverCpu.toFixed(0)}% (sum)`
}

async function main(): Promise<void> {
  const env = process.env
  const quick = env.BENCH_QUICK === '1'
  const steps = env.BENCH_STEPS
    ? env.BENCH_STEPS.split(',')
        .map(Number)
        .filter((n) => n > 0)
    : undefined
  const settings: Settings = {
    quick,
    generators: Math.max(1, Number(env.BENCH_GENERATORS ?? 2) || 2),
    warmupMs: Number(env.BENCH_WARMUP_MS ?? (quick ? 700 : 1500)),
    measureMs: Number(env.BENCH_MEASURE_MS ?? (quick ? 1500 : 3500)),
    steps,
    log: (line) => console.log(line),
  }
  console.log(
    `sketchroom multi-instance bench — ${new Date().toISOString()} — node ${process.version}, ${os.cpus().length} cores — ` +
      `${settings.generators} generators${quick ? ' — QUICK' : ''}`,
  )
  const { single, multi } = await multiInstanceRows(settings, `m${Date.now().toString(36)}`)
  const p99 = (r: SteppedResult) => (r.best ? fmtMs(r.best.p99) : '—')
  console.log(
    [
      '',
      '| many rooms (10 peers each)        | deliveries/s | p99 at that load | ratio |',
      '|-----------------------------------|--------------|------------------|-------|',
      `| one process, SQLite               | ${fmtInt(single.score).padStart(12)} | ${p99(single).padStart(16)} | 1.00× |`,
      `| 2 instances, PostgreSQL + Redis   | ${fmtInt(multi.score).padStart(12)} | ${p99(multi).padStart(16)} | ${single.score ? (multi.score / single.score).toFixed(2) : '—'}× |`,
      '',
      `- one process: ${describe(single)}`,
      `- 2 instances: ${describe(multi)}`,
    ].join('\n'),
  )
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runBenchMain(main)
