/**
 * What the operator commands (`npm run backup`, `restore`, `token`) share: arguments, the
 * server's configuration from the environment, and failing with a message and the usage.
 */
import fs from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { type Config, loadConfig } from '../server/config'
import { ConfigError } from '../server/errors'

let current = { name: 'sketchroom', usage: '' }

/** Prints `<name>: <message>` (and the usage, for a wrong command line) and exits. */
export function fail(message: string, code = 2): never {
  console.error(`${current.name}: ${message}`)
  if (code === 2 && current.usage) console.error(`usage: ${current.usage}`)
  process.exit(code)
}

/** Parses the command line and reads the configuration the server would read. */
export function commandLine<O extends NonNullable<ParseArgsConfig['options']>>(name: string, usage: string, options: O) {
  current = { name, usage }
  let parsed
  try {
    parsed = parseArgs({ options, allowPositionals: true, strict: true })
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err))
  }
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 1)
    throw err
  }
  return { config, values: parsed.values, args: parsed.positionals }
}

export function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).length === 0
}

/** The image files of an assets directory (named by the SHA-256 of their bytes; `tmp/` holds uploads in progress). */
export function listAssets(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
    .map((e) => e.name)
    .sort()
}

/** `3 boards`, `1 board`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
