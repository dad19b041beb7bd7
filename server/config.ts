import path from 'node:path'
import { z } from 'zod'
import { ConfigError } from './errors'
import { parseRetention } from './room/retention'
import { SCHEMA_NAME_PATTERN } from './storage/schemaName'

const MiB = 1024 * 1024

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

const DAY_MS = 86_400_000

/** A number of days (fractions allowed: 0.5 is twelve hours), as milliseconds. */
const days = (min: number, max = 36_500) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `must be a number of days between ${min} and ${max}, like 30 or 0.5`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max} days`))
    .transform((d) => Math.round(d * DAY_MS))

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
  MAX_BUFFERED_BYTES: int(64 * 1024).default(48 * MiB),
  HEARTBEAT_INTERVAL_MS: int(100, 3_600_000).default(10_000),
  COMPACT_AFTER_BYTES: int(1024).default(MiB),
  /** Signs view and expiring links; made and kept in DATA_DIR when unset. */
  AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The app's public address (https://whiteboard.example.com); used in links, oEmbed and as the default allowed origin. */
  PUBLIC_URL: z
    .string()
    .trim()
    .url('must be an absolute URL like https://board.example.com')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Browser origins allowed to open the WebSocket (comma-separated); default: PUBLIC_URL's, or the request's own host. */
  ALLOWED_ORIGINS: z
    .string()
    .trim()
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().url('each origin must look like https://host[:port]')))
    .optional(),
  /** Who may frame /embed/* pages (CSP frame-ancestors sources, comma- or space-separated). */
  EMBED_ORIGINS: z
    .string()
    .trim()
    .default('*')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(\*|'self'|'none'|https?:\/\/[^\s;,']+)$/, "each entry must be *, 'self', 'none' or an origin"))),
  FLUSH_INTERVAL_MS: int(0, 1000).default(16),
  FLUSH_INTERVAL_BUSY_MS: int(0, 1000).default(32),
  DORMANT_AFTER_MS: int(0, 86_400_000).default(30_000),
  MEMORY_RELEASE_BYTES: int(0).default(8 * MiB),
  MAX_DOC_BYTES: int(1024).default(32 * MiB),
  MAX_RECORD_BYTES: int(256).default(256 * 1024),
  MAX_AWARENESS_BYTES: int(64).default(8 * 1024),
  MAX_ROOM_CONNECTIONS: int(1).default(250),
  MAX_MESSAGES_PER_SECOND: int(1).default(300),
  MAX_MESSAGE_BURST: int(1).default(600),
  /** New WebSockets per address: a bucket of MAX_CONNECTION_BURST, refilled at this rate. */
  MAX_CONNECTIONS_PER_MINUTE: int(1).default(1200),
  /** New WebSockets one address may open at once (a school behind one NAT joining together). */
  MAX_CONNECTION_BURST: int(1).optional(),
  /** Open WebSockets one address may hold at once. */
  MAX_CONNECTIONS_PER_ADDRESS: int(1).default(1000),
  /** Open WebSockets in all. */
  MAX_CONNECTIONS: int(1).default(10_000),
  /** Bytes of messages being received and handled at once, server-wide; beyond it senders wait. */
  MAX_INFLIGHT_BYTES: int(1024).default(128 * MiB),
  /** How long a message may wait for room in MAX_INFLIGHT_BYTES before its connection is closed (1013, retry). */
  MAX_INFLIGHT_WAIT_MS: int(100, 3_600_000).default(20_000),
  HANDSHAKE_TIMEOUT_MS: int(100, 3_600_000).default(10_000),
  MAX_PENDING_MS: int(10, 3_600_000).default(5_000),
  MAX_OFFENCES: int(0).default(10),
  /** A board gets a version once it has changed and then been quiet this long. */
  VERSION_AFTER_QUIET_MS: int(100, 86_400_000).default(60_000),
  /** And at least this often while people keep editing. */
  VERSION_EVERY_MS: int(1000, 86_400_000).default(600_000),
  /** Which versions are kept: every one for the first duration, one an hour until the second, then one a day (named versions always). */
  VERSION_RETENTION: z
    .string()
    .trim()
    .default('24h,30d')
    .transform((v, ctx) => {
      const parsed = parseRetention(v)
      if (!parsed)
        ctx.addIssue({
          code: 'custom',
          message: 'must be two durations like 24h,30d (every version for the first, hourly until the second)',
        })
      return parsed ?? { keepAllMs: 0, hourlyForMs: 0 }
    }),
  /** Bytes of stored versions one board may keep; past it the oldest unnamed ones go. */
  VERSION_BYTES_PER_BOARD: int(1024).default(256 * MiB),
  /** How often each loaded room reads its catalog row again, so a board deleted by `npm run boards` closes while the server runs. */
  BOARD_CHECK_INTERVAL_MS: int(100, 3_600_000).default(5000),
  /** Boards in the trash longer than this are purged (as milliseconds; the variable is in days). */
  BOARD_TRASH_DAYS: days(0).default(30 * DAY_MS),
  /** Boards nobody opened or changed for this long go to the trash; `off` (the default) never. */
  BOARD_RETENTION_DAYS: z
    .string()
    .trim()
    .transform((v) => (v === 'off' ? undefined : v))
    .pipe(days(0).pipe(z.number().positive('must be more than 0 days, or off')).optional())
    .optional(),
  /** How often the server sweeps the trash and applies BOARD_RETENTION_DAYS. */
  BOARD_SWEEP_INTERVAL_MS: int(100, 86_400_000).default(3_600_000),
  /** How deep values and shared types in a board may nest: far below any browser's stack. */
  MAX_NESTING_DEPTH: int(8, 10_000).default(100),
  /** New Yjs client ids (browser sessions) one update may bring. */
  MAX_NEW_CLIENTS_PER_UPDATE: int(1).default(64),
  /** Yjs client ids (browser sessions that ever edited) one board may hold. */
  MAX_CLIENTS_PER_BOARD: int(1).default(10_000),
  /** How many reverse proxies of ours stand in front: `false`/0 none, `true` one, or their number. */
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^(true|false|\d{1,2})$/, 'must be true, false or the number of proxies in front of the server (0-10)')
    .default('false')
    .transform((v) => (v === 'true' ? 1 : v === 'false' ? 0 : Number(v)))
    .pipe(z.number().max(10, 'must be true, false or the number of proxies in front of the server (0-10)')),
  /** Largest image a board accepts (POST /api/assets); files live in DATA_DIR/assets. */
  MAX_ASSET_BYTES: int(1024, 1024 * MiB).default(10 * MiB),
  /** Bytes one client address may upload per rolling hour. */
  MAX_UPLOAD_BYTES_PER_ADDRESS: int(1024).default(256 * MiB),
  /** Bytes uploaded for one board per rolling hour, by everyone together. */
  MAX_UPLOAD_BYTES_PER_BOARD: int(1024).default(512 * MiB),
  /** What DATA_DIR/assets may hold in all; past it uploads get 507. */
  MAX_ASSETS_BYTES: int(1024).default(10 * 1024 * MiB),
  /** Uploads are refused (507) while the disk of DATA_DIR/assets would have less than this free. */
  MIN_FREE_DISK_BYTES: int(0).default(1024 * MiB),
  MAX_CONCURRENT_UPLOADS_PER_ADDRESS: int(1, 10_000).default(8),
  MAX_CONCURRENT_UPLOADS: int(1, 100_000).default(64),
  /** An upload body slower than this (bytes a second, over 5 s) is dropped, so it cannot hold its slot. */
  MIN_UPLOAD_BYTES_PER_SECOND: int(0).default(16 * 1024),
  UNUSED_ASSETS_GRACE_MS: int(0).default(86_400_000),
  ASSET_SWEEP_INTERVAL_MS: int(0).default(6 * 3_600_000),
  /** Largest board preview accepted (PUT /api/previews); one file per board in DATA_DIR/previews. */
  MAX_PREVIEW_BYTES: int(1024, 16 * MiB).default(256 * 1024),
  /** PostgreSQL instead of SQLite: the store several instances share. */
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** Schema for sketchroom's tables (created if missing), so one database can hold several deployments. */
  DATABASE_SCHEMA: z.string().trim().regex(SCHEMA_NAME_PATTERN, 'must be a lower-case identifier (letters, digits, _)').default('public'),
  DATABASE_POOL_SIZE: int(1, 1000).default(10),
  /** Connecting and each query give up after this long, so an unreachable database fails a join promptly. */
  DATABASE_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Redis for the bus between instances; needs DATABASE_URL. */
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prefix of every Redis channel, so deployments can share one Redis. */
  REDIS_PREFIX: z.string().trim().min(1, 'must not be empty').default('sketchroom:'),
  /** How often each open room compares state with the other instances and the store. */
  ANTI_ENTROPY_INTERVAL_MS: int(100, 3_600_000).default(5000),
  /** A cursor from another instance not refreshed for this long is removed (clients refresh every 15 s). */
  REMOTE_AWARENESS_TIMEOUT_MS: int(1000, 3_600_000).default(30_000),
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
      // Never echo a secret into logs.
      const shown = name.includes('SECRET') ? '(hidden)' : JSON.stringify(input[name] ?? '')
      return `${name}=${shown}: ${issue.message}`
    })
    throw new ConfigError(`invalid environment variable ${problems.join('; ')}`)
  }
  const config = parsed.data
  if (config.REDIS_URL && !config.DATABASE_URL) {
    // Instances on their own SQLite files would each hold part of a room's history: refuse.
    throw new ConfigError(
      'invalid environment variable REDIS_URL: several instances must share one store, so REDIS_URL needs DATABASE_URL too',
    )
  }
  // A joiner receives the whole document at once; it must fit below the slow-consumer cut-off.
  if (config.MAX_BUFFERED_BYTES <= config.MAX_DOC_BYTES) {
    throw new ConfigError(
      `invalid environment variables: MAX_BUFFERED_BYTES (${config.MAX_BUFFERED_BYTES}) must be larger than MAX_DOC_BYTES (${config.MAX_DOC_BYTES}), or joiners of a full board would be cut off`,
    )
  }
  if (config.MAX_INFLIGHT_BYTES < config.MAX_DOC_BYTES + EDIT_MESSAGE_SLACK) {
    throw new ConfigError(
      `invalid environment variables: MAX_INFLIGHT_BYTES (${config.MAX_INFLIGHT_BYTES}) must be at least MAX_DOC_BYTES (${config.MAX_DOC_BYTES}) plus ${EDIT_MESSAGE_SLACK}, or a change as big as a board could never arrive`,
    )
  }
  if (config.MAX_MESSAGE_BURST < config.MAX_MESSAGES_PER_SECOND) {
    throw new ConfigError(
      `invalid environment variables: MAX_MESSAGE_BURST (${config.MAX_MESSAGE_BURST}) must be at least MAX_MESSAGES_PER_SECOND (${config.MAX_MESSAGES_PER_SECOND})`,
    )
  }
  return config
}

/** Framing around a change in a sync message (type, subtype, length), with room to spare. */
export const EDIT_MESSAGE_SLACK = 64 * 1024

/** Connections one address may open at once: MAX_CONNECTION_BURST, by default 500 but never more than a minute's worth. */
export function connectionBurst(config: Config): number {
  return config.MAX_CONNECTION_BURST ?? Math.min(DEFAULT_CONNECTION_BURST, config.MAX_CONNECTIONS_PER_MINUTE)
}
const DEFAULT_CONNECTION_BURST = 500

/** The largest WebSocket message any connection may send: what `ws` is told, as a backstop. */
export function maxPayload(config: Config): number {
  return Math.max(config.MAX_MESSAGE_BYTES, config.MAX_DOC_BYTES + EDIT_MESSAGE_SLACK)
}

/** The budgets uploads are held to, from the config. */
export function uploadLimits(config: Config) {
  return {
    maxBytes: config.MAX_ASSET_BYTES,
    perAddressBytes: config.MAX_UPLOAD_BYTES_PER_ADDRESS,
    perBoardBytes: config.MAX_UPLOAD_BYTES_PER_BOARD,
    totalBytes: config.MAX_ASSETS_BYTES,
    minFreeDiskBytes: config.MIN_FREE_DISK_BYTES,
    concurrentPerAddress: config.MAX_CONCURRENT_UPLOADS_PER_ADDRESS,
    concurrentTotal: config.MAX_CONCURRENT_UPLOADS,
    minBytesPerSecond: config.MIN_UPLOAD_BYTES_PER_SECOND,
  }
}

/**
 * How long a purge waits after a board went to the trash: two rounds of
 * BOARD_CHECK_INTERVAL_MS (every running server has closed the board's sockets by then)
 * and the room's unload, so nothing writes the board after it is purged.
 */
export function boardSettleMs(config: Config): number {
  return 2 * config.BOARD_CHECK_INTERVAL_MS + 2000
}

/** When boards' versions are taken and how long they are kept, from the config. */
export function versionPolicy(config: Config) {
  return {
    afterQuietMs: config.VERSION_AFTER_QUIET_MS,
    everyMs: config.VERSION_EVERY_MS,
    ...config.VERSION_RETENTION,
    maxBytes: config.VERSION_BYTES_PER_BOARD,
  }
}

/** The limits a SyncServer enforces, from the config. */
export function syncLimits(config: Config) {
  return {
    maxDocBytes: config.MAX_DOC_BYTES,
    maxAwarenessBytes: config.MAX_AWARENESS_BYTES,
    maxConnections: config.MAX_ROOM_CONNECTIONS,
    pendingTimeoutMs: config.MAX_PENDING_MS,
    maxOffences: config.MAX_OFFENCES,
    messagesPerSecond: config.MAX_MESSAGES_PER_SECOND,
    messageBurst: config.MAX_MESSAGE_BURST,
    handshakeTimeoutMs: config.HANDSHAKE_TIMEOUT_MS,
    maxDepth: config.MAX_NESTING_DEPTH,
    maxNewClientsPerUpdate: config.MAX_NEW_CLIENTS_PER_UPDATE,
    maxClientsPerBoard: config.MAX_CLIENTS_PER_BOARD,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxEditMessageBytes: config.MAX_DOC_BYTES + EDIT_MESSAGE_SLACK,
    inflightBytes: config.MAX_INFLIGHT_BYTES,
    inflightWaitMs: config.MAX_INFLIGHT_WAIT_MS,
  }
}

/** The SQLite file inside DATA_DIR. */
export function sqliteFile(config: Pick<Config, 'DATA_DIR'>): string {
  return path.join(path.resolve(config.DATA_DIR), 'sketchroom.db')
}
