import path from 'node:path'
import { z } from 'zod'
import { ConfigError } from './errors'

const MiB = 1024 * 1024

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

/**
 * Every setting the server reads, with its default. `README.md` documents each one;
 * keep the two in step.
 */
const schema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().trim().min(1, 'must not be empty').default('0.0.0.0'),
  DATA_DIR: z.string().trim().min(1, 'must not be empty').default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_MESSAGE_BYTES: int(1024, 256 * MiB).default(2 * MiB),
  MAX_BUFFERED_BYTES: int(64 * 1024).default(16 * MiB),
  HEARTBEAT_INTERVAL_MS: int(100, 3_600_000).default(10_000),
  COMPACT_AFTER_BYTES: int(1024).default(MiB),
  /** Largest image a board accepts (POST /api/assets); files live in DATA_DIR/assets. */
  MAX_ASSET_BYTES: int(1024, 1024 * MiB).default(10 * MiB),
})

export type Config = z.output<typeof schema>
export const CONFIG_VARIABLES = Object.keys(schema.shape) as Array<keyof Config>

/**
 * Reads the server's settings from an environment object. Empty strings count as unset.
 * Throws ConfigError naming the first bad variable.
 *
 * @example
 * const config = loadConfig({ PORT: '8080' })
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {}
  for (const key of CONFIG_VARIABLES) {
    const value = env[key]
    if (value !== undefined && value !== '') input[key] = value
  }
  const parsed = schema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0])
      return `${name}=${JSON.stringify(input[name] ?? '')}: ${issue.message}`
    })
    throw new ConfigError(`invalid environment variable ${problems.join('; ')}`)
  }
  return parsed.data
}

/** The SQLite file inside DATA_DIR. */
export function sqliteFile(config: Pick<Config, 'DATA_DIR'>): string {
  return path.join(path.resolve(config.DATA_DIR), 'sketchroom.db')
}
