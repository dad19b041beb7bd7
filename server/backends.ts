/**
 * Chooses where rooms are kept and how instances talk, from the configuration:
 *
 *   (nothing)                  SQLite under DATA_DIR, no bus: one process, nothing to wait on
 *   DATABASE_URL               PostgreSQL, no bus: one process on a database server
 *   DATABASE_URL + REDIS_URL   PostgreSQL + Redis bus: any number of instances
 */
import type { Logger } from 'pino'
import type { Bus } from './bus/Bus'
import { type Config, sqliteFile } from './config'
import { releaseVersion } from './release'
import type { MigrationReport } from './storage/dataFormat'
import { PostgresStore } from './storage/PostgresStore'
import { RedisBus } from './bus/RedisBus'
import { Replicator } from './bus/Replicator'
import { SqliteStore } from './storage/SqliteStore'
import type { SharedStore, Store } from './storage/Store'

export interface Backends {
  store: Store
  /** Present when rooms are shared with other instances. */
  replicator: Replicator | null
  /** For the start-up log line. */
  kind: { store: 'sqlite' | 'postgres' | 'given'; bus: 'none' | 'redis' | 'given' }
  /** Closes the bus (the SyncServer closes the store). */
  close(): Promise<void>
}

/**
 * Opens the store and the bus the configuration asks for. PostgreSQL tables are created
 * if missing; an unreachable PostgreSQL or Redis fails here, at start-up, with the reason.
 *
 * @example
 * const backends = await openBackends(loadConfig(process.env), log)
 */
export async function openBackends(config: Config, log: Logger, given: { store?: Store; bus?: Bus } = {}): Promise<Backends> {
  const { store, kind: storeKind } = given.store ? { store: given.store, kind: 'given' as const } : await openStore(config, log)

  let bus: Bus | null = null
  let busKind: Backends['kind']['bus'] = 'none'
  if (given.bus) {
    bus = given.bus
    busKind = 'given'
  } else if (config.REDIS_URL) {
    let lastError = ''
    const redis = new RedisBus({
      url: config.REDIS_URL,
      prefix: config.REDIS_PREFIX,
      onError: (err) => {
        // ioredis reports every failed reconnection attempt; say it once per distinct error.
        if (err.message === lastError) return
        lastError = err.message
        log.warn({ err: err.message }, 'Redis bus connection problem; retrying')
      },
    })
    try {
      await redis.connect()
    } catch (err) {
      await redis.close()
      await store.close()
      throw new Error(`could not connect to Redis (REDIS_URL): ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      })
    }
    redis.onReconnect(() => (lastError = ''))
    bus = redis
    busKind = 'redis'
  }

  const replicator = bus
    ? new Replicator({
        bus,
        store: isShared(store) ? store : null,
        log,
        antiEntropyIntervalMs: config.ANTI_ENTROPY_INTERVAL_MS,
        remoteAwarenessTimeoutMs: config.REMOTE_AWARENESS_TIMEOUT_MS,
      })
    : null
  return {
    store,
    replicator,
    kind: { store: storeKind, bus: busKind },
    close: async () => {
      replicator?.stop()
      await bus?.close()
    },
  }
}

function isShared(store: Store): store is SharedStore {
  return typeof (store as Partial<SharedStore>).catchUp === 'function'
}

/**
 * Opens the store the configuration asks for (PostgreSQL with DATABASE_URL, else SQLite
 * under DATA_DIR), migrating older data. For the server and for commands beside it.
 */
export async function openStore(config: Config, log: Logger): Promise<{ store: Store; kind: 'sqlite' | 'postgres' }> {
  const release = releaseVersion()
  const onMigrated = (report: MigrationReport) =>
    log.warn(
      report,
      `migrated ${report.location} from data format ${report.from} to ${report.to}; the data as it was is kept in ${report.backup}`,
    )
  if (config.DATABASE_URL) {
    const pg = new PostgresStore({
      url: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      poolSize: config.DATABASE_POOL_SIZE,
      timeoutMs: config.DATABASE_TIMEOUT_MS,
      onIdleError: (err) => log.warn({ err: err.message }, 'PostgreSQL connection lost; the pool reconnects on next use'),
      release,
      onMigrated,
    })
    try {
      await pg.migrate()
    } catch (err) {
      await pg.close()
      throw new Error(`could not set up PostgreSQL (DATABASE_URL): ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      })
    }
    return { store: pg, kind: 'postgres' }
  }
  return {
    store: new SqliteStore({
      file: sqliteFile(config),
      onCheckpointError: (err) => log.error({ err }, 'the SQLite checkpoint worker failed; the WAL grows until restart'),
      release,
      onMigrated,
    }),
    kind: 'sqlite',
  }
}
