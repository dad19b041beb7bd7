import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, test, vi } from 'vitest'
import * as Y from 'yjs'
import { DATA_FORMAT, DataFormatError, type MigrationReport } from './dataFormat'
import { PostgresStore } from './PostgresStore'
import { sharedStoreContract, storeContract } from './Store.contract'

/** The real PostgreSQL of this machine (or CI); each run works in its own schema. */
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schemas = new Set<string>()
const stores: PostgresStore[] = []

function newSchema(): string {
  const schema = `sketchroom_test_${randomBytes(6).toString('hex')}`
  schemas.add(schema)
  return schema
}

async function openStore(schema: string): Promise<PostgresStore> {
  const store = new PostgresStore({ url, schema, timeoutMs: 5000 })
  await store.migrate()
  stores.push(store)
  return store
}

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  for (const schema of schemas) {
    const store = new PostgresStore({ url, schema })
    await store.dropSchema()
    await store.close()
  }
})

storeContract('PostgreSQL', async () => {
  const schema = newSchema()
  return { store: await openStore(schema), reopen: () => openStore(schema) }
})

sharedStoreContract('PostgreSQL', async () => {
  const schema = newSchema()
  return { a: await openStore(schema), b: await openStore(schema) }
})

describe('data format (sketchroom_meta)', () => {
  const query = async (sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query(sql, params)).rows as Array<Record<string, unknown>>
    } finally {
      await client.end()
    }
  }

  test('a new schema is made in the current format and names its release', async () => {
    const schema = newSchema()
    const store = new PostgresStore({ url, schema, release: '1.2.3', onMigrated: vi.fn() })
    stores.push(store)
    await store.migrate()
    expect(await query(`SELECT key, value FROM "${schema}".sketchroom_meta ORDER BY key`)).toEqual([
      { key: 'format', value: String(DATA_FORMAT) },
      { key: 'release', value: '1.2.3' },
    ])
  })

  test('tables of a release before versioning are copied, then migrated, and keep their rooms', async () => {
    const schema = newSchema()
    // What that release made (its schema.sql): the two tables, no sketchroom_meta.
    await query(`CREATE SCHEMA "${schema}";
      CREATE TABLE "${schema}".sketchroom_rooms (room text PRIMARY KEY, seq bigint NOT NULL);
      CREATE TABLE "${schema}".sketchroom_updates (room text NOT NULL, seq bigint NOT NULL, origin text, data bytea NOT NULL, PRIMARY KEY (room, seq))`)
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'kept')
    await query(`INSERT INTO "${schema}".sketchroom_rooms VALUES ('room-a', 1)`)
    await query(`INSERT INTO "${schema}".sketchroom_updates VALUES ('room-a', 1, NULL, $1)`, [Buffer.from(Y.encodeStateAsUpdate(doc))])
    const migrated = vi.fn()
    const store = new PostgresStore({ url, schema, onMigrated: migrated })
    stores.push(store)
    await store.migrate()
    const loaded = new Y.Doc()
    Y.applyUpdate(loaded, (await store.load('room-a'))!.update)
    expect(loaded.getText('t').toString()).toBe('kept')
    expect(migrated).toHaveBeenCalledTimes(1)
    const report = migrated.mock.calls[0]![0] as MigrationReport
    expect(report).toMatchObject({ location: `PostgreSQL schema "${schema}"`, from: 0, to: DATA_FORMAT })
    const copies = await query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE '%before_format%' ORDER BY 1`,
      [schema],
    )
    expect(copies.map((r) => r.table_name)).toEqual([
      expect.stringMatching(new RegExp(`^sketchroom_rooms_before_format_${DATA_FORMAT}_\\d{8}t\\d{6}z$`)),
      expect.stringMatching(new RegExp(`^sketchroom_updates_before_format_${DATA_FORMAT}_\\d{8}t\\d{6}z$`)),
    ])
    expect(report.backup).toContain(copies[1]!.table_name as string)
    expect(await query(`SELECT count(*)::int AS n FROM "${schema}".${copies[1]!.table_name as string}`)).toEqual([{ n: 1 }])
    // Migrated once: the next instance finds the current format.
    await store.migrate()
    expect(migrated).toHaveBeenCalledTimes(1)
  })

  test('a schema of a newer release is refused, naming both formats and that release, and left as it was', async () => {
    const schema = newSchema()
    await openStore(schema)
    await query(`UPDATE "${schema}".sketchroom_meta SET value = $1 WHERE key = 'format'`, [String(DATA_FORMAT + 1)])
    await query(`INSERT INTO "${schema}".sketchroom_meta VALUES ('release', '9.9.9')`)
    const store = new PostgresStore({ url, schema, release: '0.0.1' })
    stores.push(store)
    const refusal = store.migrate()
    await expect(refusal).rejects.toThrow(DataFormatError)
    await expect(refusal).rejects.toThrow(
      `PostgreSQL schema "${schema}" holds data format ${DATA_FORMAT + 1} (last opened by sketchroom 9.9.9); this release (sketchroom 0.0.1) reads data formats up to ${DATA_FORMAT}`,
    )
    expect(await query(`SELECT value FROM "${schema}".sketchroom_meta WHERE key = 'release'`)).toEqual([{ value: '9.9.9' }])
  })
})
