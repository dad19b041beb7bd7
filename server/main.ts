/**
 * The process entry point: environment → config, start, stop on signals.
 *
 *   tsx server/main.ts               Next.js app + sync endpoint on one port (npm start)
 *   tsx server/main.ts --dev         the same with Next.js in development mode (npm run dev)
 *   tsx server/main.ts --sync-only   the sync endpoint alone (npm run sync)
 *
 * Everything else takes its configuration as an argument: tests and benchmarks call
 * `startServer` (server/app.ts) to run one in-process on port 0.
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import pino from 'pino'
import { type RunningServer, startServer } from './app'
import { type Config, loadConfig } from './config'
import { ConfigError } from './errors'
import { safeLogger } from './logging'

// Callers that know only the entry point (older benchmarks, scripts) find the server here too.
export { type RunningServer, type StartOptions, startServer } from './app'

/** Runs the server as a process: reads env, starts, stops cleanly on SIGTERM/SIGINT. */
export async function cli(argv: string[]): Promise<void> {
  // better-sqlite3 13 segfaults on Node 20: say so instead.
  if (Number(process.versions.node.split('.')[0]) < 22) {
    console.error(`sketchroom: Node.js 22 or 24 is needed; this is ${process.version}`)
    process.exit(1)
  }
  const syncOnly = argv.includes('--sync-only')
  const dev = argv.includes('--dev')
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`sketchroom: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  const log = safeLogger(pino({ level: config.LOG_LEVEL, base: { service: 'sketchroom' } }))
  // Every promise of timers, the bus and the store is handled where it starts; one that
  // still escapes is a bug, worth a loud line, not worth every board's connections.
  process.on('unhandledRejection', (err) =>
    log.error({ err }, 'unhandled promise rejection: a bug, please report it; the server keeps running'),
  )
  let running: RunningServer
  try {
    running = await startServer(config, { app: !syncOnly, dev, logger: log })
  } catch (err) {
    log.fatal({ err }, 'could not start')
    console.error(`sketchroom: could not start: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    running.close().then(
      () => {
        log.info('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  void cli(process.argv.slice(2))
}
