/**
 * Starts our server in a bench child, started exactly as tests and `npm run sync` start it,
 * with data in a temp dir that goes when the child does.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve } from './harness'

// BENCH_OURS_DIR: a checkout to measure instead of this one (e.g. a `git archive` of a
// commit, with node_modules linked), so a bench is not hit by edits in progress.
const root = process.env.BENCH_OURS_DIR ? path.resolve(process.env.BENCH_OURS_DIR) : path.resolve(import.meta.dirname, '../..')
const { loadConfig } = (await import(pathToFileURL(path.join(root, 'server/config.ts')).href)) as typeof import('../../server/config')
const { startServer } = (await import(pathToFileURL(path.join(root, 'server/main.ts')).href)) as typeof import('../../server/main')

/** Defaults throughout, but for `env` and two limits that are policy, not capacity. */
export async function serveOurs(env: Record<string, string | undefined> = {}): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-bench-'))
  const server = await startServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // Every simulated user connects from 127.0.0.1; the per-address limit is meant for many addresses.
      MAX_CONNECTIONS_PER_MINUTE: '1000000',
      MAX_CONNECTION_BURST: '1000000',
      MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      // The big room goes past the default 250 people per board, as a deployment expecting
      // such boards would set it.
      MAX_ROOM_CONNECTIONS: '1000',
      ...env,
    }),
  )
  serve(server.port)
  // The parent ends us with SIGTERM; the data is throwaway.
  process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }))
}
