import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import pg from 'pg'
import * as Y from 'yjs'
import { compactTimestamp, DATA_FORMAT, DataFormatError, type MigrationReport } from './dataFormat'
import { isSchemaName } from './schemaName'
import { PostgresCatalog } from './postgresCatalog'
import type { BoardCatalog, SharedStore, StoredRoom } from './Store'

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db` */
  url: string
  /** PostgreSQL schema holding the tables (created if missing). Default `public`. */
  schema?: string
  /** Connections in the pool. Default 10. */
  poolSize?: number
  /**
   * Connecting and each query give up after this long, so a database that is down or
   * unreachable fails a room load promptly (the joiner is told) instead of hanging it.
   * Default 10 s.
   */
  timeoutMs?: number
  /** Told about errors on idle pooled connections (the database went away between queries). */
  onIdleError?: (err: Error) => void
  /** The release opening the schema, kept in it so an older release can name it when it refuses. */
  release?: string
  /** Told when `migrate` found an older data format and migrated it (after a backup). */
  onMigrated?: (report: MigrationReport) => void
}

const SCHEMA_FILE = new URL('./schema.sql', import.meta.url)

/**
 * The store for several sync instances: each room is a log of Yjs updates in PostgreSQL
 * (`server/storage/schema.sql`), appended by whichever instance received them.
 *
 * Appends from all instances to one room are serialised on the room's row in
 * `sketchroom_rooms`, which gives the log gap-free sequence numbers in commit order. That
 * is what lets `catchUp` read "what is new since N" without missing a slow commit, and
 * what lets compaction run while other instances append: it locks the room, merges the
 * snapshot with every entry actually in the log, and replaces them, so an entry this
 * instance never saw is folded in rather than deleted.
 *
 * @example
 * const store = new PostgresStore({ url: 'postgres://postgres@127.0.0.1/sketchroom' })
 * await store.migrate()
 * await store.append('room1', update)
 */
export class PostgresStore implements SharedStore {
  /** Marks the log entries this store appended, so `catchUp` can skip them. */
  readonly origin = randomBytes(8).toString('hex')
  readonly catalog: BoardCatalog
  private readonly pool: pg.Pool
  private readonly schema: string
  private readonly rooms: string
  private readonly updates: string
  /**
   * Per room: every entry up to `seq` is in the room's document. A new object per load, so
   * a catch-up still in flight from before an unload cannot move the new load's cursor.
   */
  private readonly cursors = new Map<string, { seq: number }>()
  private closed = false
  private readonly release: string | undefined
  private readonly onMigrated: ((report: MigrationReport) => void) | undefined

  constructor(options: PostgresStoreOptions) {
    this.release = options.release
    this.onMigrated = options.onMigrated
    this.schema = options.schema ?? 'public'
    if (!isSchemaName(this.schema)) {
      throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(this.schema)}: use lower-case letters, digits and _`)
    }
    const timeoutMs = options.timeoutMs ?? 10_000
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
    })
    // Without a listener, an idle connection dropped by the server would crash the process.
    this.pool.on('error', (err) => options.onIdleError?.(err))
    this.rooms = `"${this.schema}".sketchroom_rooms`
    this.updates = `"${this.schema}".sketchroom_updates`
    this.catalog = new PostgresCatalog(this.pool, `"${this.schema}"`)
  }

  /**
   * Creates the schema and tables if missing, and brings older data to `DATA_FORMAT` (kept
   * in `sketchroom_meta`); throws `DataFormatError`, changing nothing, for data of a newer
   * release. One transaction, so a failure leaves the data as it was. Safe to run from
   * several instances at once: they take turns, and the first migrates.
   */
  async migrate(): Promise<void> {
    const ddl = fs.readFileSync(SCHEMA_FILE, 'utf8')
    const client = await this.pool.connect()
    let report: MigrationReport | null = null
    try {
      await client.query('BEGIN')
      // Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog; take turns.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('sketchroom:migrate'))")
      const found = await this.dataFormat(client)
      if (found.format > DATA_FORMAT)
        throw new DataFormatError(`PostgreSQL schema "${this.schema}"`, found.format, found.release, this.release)
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`)
      await client.query(`SET LOCAL search_path TO "${this.schema}"`)
      let backup: string | null = null
      if (found.format < DATA_FORMAT && found.hasData) {
        // Older data is copied first, inside the schema, so a release rolled back finds its tables.
        const suffix = `before_format_${DATA_FORMAT}_${compactTimestamp().toLowerCase()}`
        const copies = []
        for (const table of ['sketchroom_rooms', 'sketchroom_updates', 'sketchroom_boards', 'sketchroom_versions']) {
          // Each format's tables: a table a later format adds is not there to copy yet.
          const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [table])
          if (exists.rows[0]!.t === null) continue
          await client.query(`CREATE TABLE ${table}_${suffix} AS TABLE ${table}`)
          copies.push(`${table}_${suffix}`)
        }
        backup = `tables ${copies.join(', ')} in schema "${this.schema}"`
      }
      // Format 1 is the first versioned layout: from 0 (a release before versioning) the
      // idempotent DDL adds what is missing; format 2 adds the catalog and versions, and
      // every board already stored gets its catalog row.
      await client.query(ddl)
      if (found.format < 2 && found.hasData) {
        await client.query(
          'INSERT INTO sketchroom_boards (room, created_at) SELECT room, $1 FROM sketchroom_rooms ON CONFLICT (room) DO NOTHING',
          [Date.now()],
        )
      }
      await client.query(`INSERT INTO sketchroom_meta (key, value) VALUES ('format', $1) ON CONFLICT (key) DO UPDATE SET value = $1`, [
        String(DATA_FORMAT),
      ])
      if (this.release) {
        await client.query(`INSERT INTO sketchroom_meta (key, value) VALUES ('release', $1) ON CONFLICT (key) DO UPDATE SET value = $1`, [
          this.release,
        ])
      }
      await client.query('COMMIT')
      if (found.format < DATA_FORMAT && found.hasData) {
        report = { location: `PostgreSQL schema "${this.schema}"`, from: found.format, to: DATA_FORMAT, backup }
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
    if (report) this.onMigrated?.(report)
  }

  /** The schema's data format (0: tables of a release before versioning, or none yet) and last release. */
  private async dataFormat(client: pg.PoolClient): Promise<{ format: number; release: string | null; hasData: boolean }> {
    const tables = await client.query<{ meta: string | null; updates: string | null }>(
      `SELECT to_regclass($1) AS meta, to_regclass($2) AS updates`,
      [`"${this.schema}".sketchroom_meta`, `"${this.schema}".sketchroom_updates`],
    )
    const { meta, updates } = tables.rows[0]!
    const hasData = updates !== null
    if (meta === null) return { format: 0, release: null, hasData }
    const { rows } = await client.query<{ key: string; value: string }>(`SELECT key, value FROM "${this.schema}".sketchroom_meta`)
    const value = (key: string) => rows.find((r) => r.key === key)?.value ?? null
    return { format: Number(value('format') ?? 0), release: value('release'), hasData }
  }

  async load(roomId: string): Promise<StoredRoom | null> {
    const { rows } = await this.pool.query<{ seq: string; data: Buffer }>(
      `SELECT seq, data FROM ${this.updates} WHERE room = $1 ORDER BY seq`,
      [roomId],
    )
    if (rows.length === 0) {
      this.cursors.set(roomId, { seq: 0 })
      return null
    }
    let bytes = 0
    const updates = rows.map((r) => {
      bytes += r.data.length
      return toBytes(r.data)
    })
    this.cursors.set(roomId, { seq: Number(rows[rows.length - 1]!.seq) })
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
    return { update, entries: rows.length, bytes }
  }

  async append(roomId: string, update: Uint8Array): Promise<void> {
    // One statement, so one round trip: the upsert locks the room's row until commit.
    const { rows } = await this.pool.query<{ seq: string }>(
      `WITH head AS (
         INSERT INTO ${this.rooms} AS r (room, seq) VALUES ($1, 1)
         ON CONFLICT (room) DO UPDATE SET seq = r.seq + 1
         RETURNING seq
       )
       INSERT INTO ${this.updates} (room, seq, origin, data)
       SELECT $1, seq, $3, $2 FROM head
       RETURNING seq`,
      [roomId, toBuffer(update), this.origin],
    )
    const seq = Number(rows[0]!.seq)
    // Only a directly following entry moves the cursor: one before it may be another instance's.
    const cursor = this.cursors.get(roomId)
    if (cursor && cursor.seq === seq - 1) cursor.seq = seq
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      // Locks the room's row: other instances' appends wait until the snapshot is in.
      const head = await client.query<{ seq: string }>(
        `INSERT INTO ${this.rooms} AS r (room, seq) VALUES ($1, 0) ON CONFLICT (room) DO UPDATE SET seq = r.seq
         RETURNING seq`,
        [roomId],
      )
      const headSeq = Number(head.rows[0]!.seq)
      const { rows } = await client.query<{ data: Buffer }>(`SELECT data FROM ${this.updates} WHERE room = $1 ORDER BY seq`, [roomId])
      // The log may hold entries from other instances that `state` lacks: fold them in.
      const doc = new Y.Doc()
      try {
        Y.applyUpdate(doc, state)
        for (const row of rows) Y.applyUpdate(doc, toBytes(row.data))
        const merged = Y.encodeStateAsUpdate(doc)
        await client.query(`DELETE FROM ${this.updates} WHERE room = $1`, [roomId])
        await client.query(
          `WITH head AS (UPDATE ${this.rooms} SET seq = seq + 1 WHERE room = $1 RETURNING seq)
           INSERT INTO ${this.updates} (room, seq, origin, data) SELECT $1, seq, NULL, $2 FROM head`,
          [roomId, toBuffer(merged)],
        )
      } finally {
        doc.destroy()
      }
      await client.query('COMMIT')
      // Had the room read the whole log, the snapshot holds nothing new for it.
      const cursor = this.cursors.get(roomId)
      if (cursor && cursor.seq === headSeq) cursor.seq = headSeq + 1
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }

  async catchUp(roomId: string): Promise<Uint8Array | null> {
    const cursor = this.cursors.get(roomId)
    if (cursor === undefined) return null
    // Own entries come back without data: they only move the cursor.
    const { rows } = await this.pool.query<{ seq: string; data: Buffer | null }>(
      `SELECT seq, CASE WHEN origin = $3 THEN NULL ELSE data END AS data
         FROM ${this.updates} WHERE room = $1 AND seq > $2 ORDER BY seq`,
      [roomId, cursor.seq, this.origin],
    )
    if (rows.length === 0) return null
    // Appends may have moved the cursor past these rows meanwhile; never move it back.
    cursor.seq = Math.max(cursor.seq, Number(rows[rows.length - 1]!.seq))
    const updates: Uint8Array[] = []
    for (const row of rows) if (row.data) updates.push(toBytes(row.data))
    if (updates.length === 0) return null
    return updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
  }

  forget(roomId: string): void {
    this.cursors.delete(roomId)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pool.end()
  }

  /** Drops the schema and everything in it. For tests that make a schema per run. */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`)
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

// pg hands out Buffers that may share a pooled ArrayBuffer; Yjs may keep what it is given.
function toBytes(data: Buffer): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
}
