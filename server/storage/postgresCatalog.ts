import type pg from 'pg'
import {
  type BoardCatalog,
  type BoardInfo,
  type BoardLock,
  BoardBusyError,
  type BoardPatch,
  type NewVersion,
  type VersionInfo,
  type VersionReason,
} from './Store'
import { assembleVersion, contentHash, layoutVersion, newVersionId, storedVersionInfo } from './versionLayout'

interface BoardRow {
  room: string
  created_at: string
  changed_at: string | null
  opened_at: string | null
  title: string
  shapes: number
  bytes: string
  deleted_at: string | null
  link_generation: number
}

interface VersionRow {
  id: string
  created_at: string
  reason: string
  name: string | null
  shapes: number
  bytes: string
  editors: string
  stored: number
}

const num = (v: string | null) => (v === null ? null : Number(v))

const toBoard = (r: BoardRow): BoardInfo => ({
  roomId: r.room,
  createdAt: Number(r.created_at),
  changedAt: num(r.changed_at),
  openedAt: num(r.opened_at),
  title: r.title,
  shapes: r.shapes,
  bytes: Number(r.bytes),
  deletedAt: num(r.deleted_at),
  linkGeneration: r.link_generation,
})

const toVersion = (r: VersionRow): VersionInfo => ({
  id: r.id,
  createdAt: Number(r.created_at),
  reason: r.reason as VersionReason,
  name: r.name,
  shapes: r.shapes,
  bytes: Number(r.bytes),
  storedBytes: Number(r.stored),
  editors: JSON.parse(r.editors) as string[],
})

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
// pg hands out Buffers that may share a pooled ArrayBuffer; Yjs may keep what it is given.
const toBytes = (data: Buffer) => new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))

/**
 * The board catalog and versions in PostgreSQL (data format 2, `schema.sql`), shared by
 * every instance: a version is added under the board row's lock, so two instances never
 * race one board's newest version or its keyframe.
 *
 * @example
 * const catalog = new PostgresCatalog(pool, '"public"')
 */
export class PostgresCatalog implements BoardCatalog {
  private readonly boardsTable: string
  private readonly versionsTable: string
  private readonly updatesTable: string
  private readonly roomsTable: string

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.boardsTable = `${schema}.sketchroom_boards`
    this.versionsTable = `${schema}.sketchroom_versions`
    this.updatesTable = `${schema}.sketchroom_updates`
    this.roomsTable = `${schema}.sketchroom_rooms`
  }

  private ensure(client: pg.Pool | pg.PoolClient, roomId: string, at = Date.now()) {
    return client.query(`INSERT INTO ${this.boardsTable} (room, created_at) VALUES ($1, $2) ON CONFLICT (room) DO NOTHING`, [roomId, at])
  }

  async board(roomId: string): Promise<BoardInfo | null> {
    const { rows } = await this.pool.query<BoardRow>(`SELECT * FROM ${this.boardsTable} WHERE room = $1`, [roomId])
    return rows[0] ? toBoard(rows[0]) : null
  }

  async boardsOf(roomIds: string[]): Promise<BoardInfo[]> {
    if (roomIds.length === 0) return []
    const { rows } = await this.pool.query<BoardRow>(`SELECT * FROM ${this.boardsTable} WHERE room = ANY($1)`, [roomIds])
    return rows.map(toBoard)
  }

  async boards(): Promise<BoardInfo[]> {
    const { rows } = await this.pool.query<BoardRow>(`SELECT * FROM ${this.boardsTable} ORDER BY coalesce(changed_at, created_at) DESC`)
    return rows.map(toBoard)
  }

  async noteBoard(roomId: string, patch: BoardPatch): Promise<void> {
    const columns = { changedAt: 'changed_at', openedAt: 'opened_at', title: 'title', shapes: 'shapes', bytes: 'bytes' } as const
    const sets = Object.entries(patch).filter(([, v]) => v !== undefined)
    const values = sets.map(([, v]) => v)
    const insertColumns = ['room', 'created_at', ...sets.map(([k]) => columns[k as keyof typeof columns])]
    const updates = sets.map(([k]) => `${columns[k as keyof typeof columns]} = EXCLUDED.${columns[k as keyof typeof columns]}`)
    await this.pool.query(
      `INSERT INTO ${this.boardsTable} (${insertColumns.join(', ')}) VALUES (${insertColumns.map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (room) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
      [roomId, Date.now(), ...values],
    )
  }

  async setDeleted(roomId: string, at: number | null): Promise<void> {
    await this.ensure(this.pool, roomId)
    await this.pool.query(`UPDATE ${this.boardsTable} SET deleted_at = $2 WHERE room = $1`, [roomId, at])
  }

  async bumpLinkGeneration(roomId: string): Promise<number> {
    await this.ensure(this.pool, roomId)
    const { rows } = await this.pool.query<{ link_generation: number }>(
      `UPDATE ${this.boardsTable} SET link_generation = link_generation + 1 WHERE room = $1 RETURNING link_generation`,
      [roomId],
    )
    return rows[0]!.link_generation
  }

  async purge(roomId: string): Promise<void> {
    await this.transaction(async (client) => {
      for (const table of [this.updatesTable, this.roomsTable, this.versionsTable, this.boardsTable]) {
        await client.query(`DELETE FROM ${table} WHERE room = $1`, [roomId])
      }
    })
  }

  async addVersion(roomId: string, version: NewVersion): Promise<VersionInfo | null> {
    const hash = contentHash(version.state)
    return this.transaction(async (client) => {
      await this.ensure(client, roomId, version.createdAt)
      await client.query(`SELECT 1 FROM ${this.boardsTable} WHERE room = $1 FOR UPDATE`, [roomId])
      const newest = (
        await client.query<{ id: string; hash: string }>(
          `SELECT id, hash FROM ${this.versionsTable} WHERE room = $1 AND NOT hidden ORDER BY id DESC LIMIT 1`,
          [roomId],
        )
      ).rows[0]
      if (newest?.hash === hash && version.name === null) return null
      const keyframe = (
        await client.query<{ id: string; data: Buffer }>(
          `SELECT id, data FROM ${this.versionsTable} WHERE room = $1 AND base IS NULL ORDER BY id DESC LIMIT 1`,
          [roomId],
        )
      ).rows[0]
      const { data, base } = layoutVersion(version.state, keyframe ? { id: keyframe.id, state: toBytes(keyframe.data) } : null)
      const id = newVersionId(version.createdAt, newest?.id)
      await client.query(
        `INSERT INTO ${this.versionsTable} (room, id, created_at, reason, name, shapes, bytes, editors, hash, base, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          roomId,
          id,
          version.createdAt,
          version.reason,
          version.name,
          version.shapes,
          version.state.length,
          JSON.stringify(version.editors),
          hash,
          base,
          toBuffer(data),
        ],
      )
      return storedVersionInfo(id, version, data.length)
    })
  }

  async versions(roomId: string): Promise<VersionInfo[]> {
    const { rows } = await this.pool.query<VersionRow>(
      `SELECT id, created_at, reason, name, shapes, bytes, editors, length(data) AS stored
         FROM ${this.versionsTable} WHERE room = $1 AND NOT hidden ORDER BY id DESC`,
      [roomId],
    )
    return rows.map(toVersion)
  }

  async versionState(roomId: string, id: string): Promise<Uint8Array | null> {
    const { rows } = await this.pool.query<{ id: string; data: Buffer; base: string | null }>(
      `SELECT v.id, v.data, v.base FROM ${this.versionsTable} v
        WHERE v.room = $1 AND (v.id = $2 OR v.id = (SELECT base FROM ${this.versionsTable} WHERE room = $1 AND id = $2))`,
      [roomId, id],
    )
    const row = rows.find((r) => r.id === id)
    if (!row) return null
    const base = row.base ? rows.find((r) => r.id === row.base) : undefined
    return assembleVersion(toBytes(row.data), base ? toBytes(base.data) : null)
  }

  async deleteVersions(roomId: string, ids: string[]): Promise<void> {
    await this.transaction(async (client) => {
      const newest = (
        await client.query<{ id: string }>(`SELECT id FROM ${this.versionsTable} WHERE room = $1 AND NOT hidden ORDER BY id DESC LIMIT 1`, [
          roomId,
        ])
      ).rows[0]?.id
      const doomed = ids.filter((id) => id !== newest)
      if (doomed.length === 0) return
      // Keyframes that other versions need are hidden; the rest go.
      await client.query(
        `UPDATE ${this.versionsTable} k SET hidden = true WHERE k.room = $1 AND k.id = ANY($2)
           AND EXISTS (SELECT 1 FROM ${this.versionsTable} v WHERE v.room = k.room AND v.base = k.id AND NOT v.id = ANY($2))`,
        [roomId, doomed],
      )
      await client.query(`DELETE FROM ${this.versionsTable} WHERE room = $1 AND id = ANY($2) AND NOT hidden`, [roomId, doomed])
      await client.query(
        `DELETE FROM ${this.versionsTable} k WHERE k.room = $1 AND k.hidden
           AND NOT EXISTS (SELECT 1 FROM ${this.versionsTable} v WHERE v.room = k.room AND v.base = k.id)`,
        [roomId],
      )
    })
  }

  /**
   * A session-level advisory lock on its own connection, keyed by the schema and the room:
   * every instance and command on this database sees it, and PostgreSQL lets it go if the
   * holder's connection ends (a command killed half-way leaves nothing stuck).
   */
  async lock(roomId: string, operation: string): Promise<BoardLock> {
    const client = await this.pool.connect()
    let got = false
    try {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS got', [
        `sketchroom:board-lock:${this.schema}`,
        roomId,
      ])
      got = rows[0]!.got
    } catch (err) {
      client.release()
      throw err
    }
    if (!got) {
      client.release()
      throw new BoardBusyError(
        `another operation on this board is running (npm run boards, or a server's sweep): ${operation} refused; try again when it has finished`,
      )
    }
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        try {
          await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [`sketchroom:board-lock:${this.schema}`, roomId])
          client.release()
        } catch (err) {
          // The connection is dropped, and the lock with it.
          client.release(err instanceof Error ? err : true)
        }
      },
    }
  }

  async storedRooms(): Promise<string[]> {
    const { rows } = await this.pool.query<{ room: string }>(`SELECT room FROM ${this.roomsTable}`)
    return rows.map((r) => r.room)
  }

  async logEntries(roomId: string): Promise<Uint8Array[]> {
    const { rows } = await this.pool.query<{ data: Buffer }>(`SELECT data FROM ${this.updatesTable} WHERE room = $1 ORDER BY seq`, [roomId])
    return rows.map((r) => toBytes(r.data))
  }

  async versionData(roomId: string): Promise<Uint8Array[]> {
    const { rows } = await this.pool.query<{ data: Buffer }>(`SELECT data FROM ${this.versionsTable} WHERE room = $1`, [roomId])
    return rows.map((r) => toBytes(r.data))
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }
}
