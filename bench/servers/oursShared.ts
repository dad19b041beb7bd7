/**
 * Our server as one of several instances: PostgreSQL + Redis from the parent's env
 * (DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, REDIS_PREFIX), started as `npm run sync` would.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve } from './harness'

const root = process.env.BENCH_OURS_DIR ? path.resolve(process.env.BENCH_OURS_DIR) : path.resolve(import.meta.dirname, '../..')
const { loadConfig } = (await import(pathToFileURL(path.join(root, 'server/config.ts')).href)) as typeof import('../../server/config')
const { startServer } = (await import(pathToFileURL(path.join(root, 'server/main.ts')).href)) as typeof import('../../server/main')

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-bench-'))
const server = await startServer(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // All simulated users share 127.0.0.1; the per-address limit is meant for many addresses.
    MAX_CONNECTIONS_PER_MINUTE: '1000000',
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_SCHEMA: process.env.DATABASE_SCHEMA,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: process.env.REDIS_PREFIX,
  }),
)
serve(server.port)
process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }))
