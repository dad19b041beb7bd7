/** Our server, started exactly as tests and `npm run sync` start it, with SQLite in a temp dir. */
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

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-bench-'))
// Defaults throughout, but two limits that are policy, not capacity: every simulated user
// connects from 127.0.0.1, and the per-address limit (MAX_CONNECTIONS_PER_MINUTE) is meant
// for many addresses; the big room goes past the default 250 people per board
// (MAX_ROOM_CONNECTIONS), as a deployment expecting such boards would set it.
const server = await startServer(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    MAX_CONNECTIONS_PER_MINUTE: '1000000',
    MAX_ROOM_CONNECTIONS: '1000',
  }),
)
serve(server.port)
// The parent ends us with SIGTERM; the data is throwaway.
process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }))
