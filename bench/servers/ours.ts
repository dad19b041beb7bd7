/** Our server, started exactly as tests and `npm run sync` start it, with SQLite in a temp dir. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../server/config'
import { startServer } from '../../server/main'
import { serve } from './harness'

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-bench-'))
const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }))
serve(server.port)
// The parent ends us with SIGTERM; the data is throwaway.
process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }))
