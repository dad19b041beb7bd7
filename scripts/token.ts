/**
 * `npm run token -- --room <id> --mode view|edit [--ttl 7d]`: prints a link with a signed
 * token, for the same secret the server uses (AUTH_SECRET, or the one kept in DATA_DIR),
 * on the server's address (PUBLIC_URL, else localhost and PORT).
 *
 * It never makes a secret: one made here, in a DATA_DIR that is not the server's, would
 * sign links the server refuses. Links carry the board's current link generation (read
 * from the store), so a link printed after "Reset links" works.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { roomIdProblem } from '../lib/roomId'
import pino from 'pino'
import { openStore } from '../server/backends'
import { resolveAuthSecret } from '../server/http/authSecret'
import { type Config, loadConfig, sqliteFile } from '../server/config'
import { ConfigError } from '../server/errors'
import { parseDuration, TokenSigner } from '../server/http/tokens'

function fail(message: string): never {
  console.error(`token: ${message}`)
  console.error('usage: npm run token -- --room <roomId> --mode view|edit [--ttl 7d|12h|30m|90s, at most 3650d]')
  process.exit(2)
}

let values: { room?: string; mode?: string; ttl?: string }
try {
  ;({ values } = parseArgs({ options: { room: { type: 'string' }, mode: { type: 'string', default: 'view' }, ttl: { type: 'string' } } }))
} catch (err) {
  fail(err instanceof Error ? err.message : String(err))
}
if (!values.room) fail('--room is required')
const problem = roomIdProblem(values.room)
if (problem) fail(problem)
if (values.mode !== 'view' && values.mode !== 'edit') fail('--mode must be view or edit')
let expiresAt: number | null = null
if (values.ttl !== undefined) {
  const ms = parseDuration(values.ttl)
  if (ms === null) fail(`--ttl ${JSON.stringify(values.ttl)} is not a duration like 7d, 12h, 30m or 90s, of at most 3650d (ten years)`)
  expiresAt = Date.now() + ms
}
/** The board's link generation, from the server's store (0 for a board it has never stored). */
async function linkGeneration(config: Config, roomId: string): Promise<number> {
  if (!config.DATABASE_URL && !fs.existsSync(sqliteFile(config))) return 0
  let opened: Awaited<ReturnType<typeof openStore>> | null = null
  try {
    opened = await openStore(config, pino({ level: 'silent' }))
    return (await opened.store.catalog.board(roomId))?.linkGeneration ?? 0
  } catch (err) {
    console.error(`token: could not read the board's link generation from the store: ${err instanceof Error ? err.message : String(err)}`)
    return process.exit(1)
  } finally {
    await opened?.store.close()
  }
}

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) fail(err.message)
  throw err
}
if (!config.AUTH_SECRET && !fs.existsSync(path.join(path.resolve(config.DATA_DIR), 'auth-secret'))) {
  const where = `DATA_DIR=${config.DATA_DIR} (${path.resolve(config.DATA_DIR)})`
  console.error(
    fs.existsSync(sqliteFile(config))
      ? `token: ${where} holds the server's boards but no auth-secret, so the server signs links with AUTH_SECRET: run this with the same AUTH_SECRET`
      : `token: ${where} holds no auth-secret and no sketchroom.db: it is not the server's data directory, and a secret made here would sign ` +
          "links the server refuses. Set DATA_DIR to the server's, or AUTH_SECRET to its secret",
  )
  process.exit(1)
}
const signer = new TokenSigner(resolveAuthSecret(config.AUTH_SECRET, config.DATA_DIR))
const token = signer.sign({ roomId: values.room, mode: values.mode, expiresAt, generation: await linkGeneration(config, values.room) })
const origin = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`
console.log(`${origin}/${values.mode === 'view' ? 'v' : 'e'}/${token}`)
if (expiresAt !== null) console.error(`expires ${new Date(expiresAt).toISOString()}`)
