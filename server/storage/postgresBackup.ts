import { spawn, spawnSync } from 'node:child_process'
import pg from 'pg'
import { compactTimestamp } from './dataFormat'
import { isSchemaName } from './schemaName'
import type { DatabaseSummary } from './sqliteBackup'

export interface PostgresLocation {
  /** DATABASE_URL */
  url: string
  /** DATABASE_SCHEMA */
  schema: string
}

/** sketchroom's tables, all that a backup holds: the schema may hold other things too. */
const TABLES = ['sketchroom_meta', 'sketchroom_rooms', 'sketchroom_updates'] as const

/**
 * Dumps sketchroom's tables of `DATABASE_SCHEMA` to `file` with `pg_dump` (custom format,
 * so `pg_restore` reads it, with or without sketchroom), while instances keep writing.
 *
 * The counts come from the very snapshot `pg_dump` dumps (`pg_export_snapshot`), so the
 * manifest says exactly what the archive holds.
 *
 * @example
 * await dumpPostgres({ url: process.env.DATABASE_URL, schema: 'public' }, '/backups/today/database.pgdump')
 */
export async function dumpPostgres(at: PostgresLocation, file: string): Promise<DatabaseSummary & { server: string; pgDump: string }> {
  const pgDump = clientTool('pg_dump')
  const client = await connect(at)
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id
    const summary = await summarize(client, at.schema)
    if (summary === null) throw new Error(`PostgreSQL schema "${at.schema}" holds no sketchroom tables: is DATABASE_SCHEMA the server's?`)
    const server = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v
    const tables = [...TABLES].filter((t) => summary.tables.includes(t)).flatMap((t) => ['--table', `"${at.schema}".${t}`])
    await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`, ...tables, '--file', file], at)
    await client.query('COMMIT')
    const { tables: _, ...counts } = summary
    return { ...counts, integrity: 'ok', server, pgDump }
  } finally {
    await client.end()
  }
}

/**
 * Restores an archive of `dumpPostgres` into the schema it was dumped from, in one
 * transaction. Tables that already hold boards are refused unless `force`; then they are
 * kept, moved to the schema `<schema>_replaced_<time>`, whose name is returned.
 */
export async function restorePostgres(
  at: PostgresLocation,
  file: string,
  options: { force: boolean },
): Promise<{ replaced: string | null; summary: DatabaseSummary }> {
  clientTool('pg_restore')
  const client = await connect(at)
  try {
    const existing = await summarize(client, at.schema)
    if (existing && existing.boards > 0 && !options.force) {
      throw new RestoreRefused(
        `PostgreSQL schema "${at.schema}" already holds ${existing.boards} board${existing.boards === 1 ? '' : 's'}; restore will not overwrite them. ` +
          'Pass --force to keep them aside (their tables are renamed) and restore the backup.',
      )
    }
    // Tables with boards are kept aside, moved to a schema of their own (which a server can
    // be pointed at); empty ones (an instance started before the restore) go.
    const keep = existing !== null && existing.boards > 0
    const aside = `${at.schema.slice(0, 40)}_replaced_${compactTimestamp().toLowerCase()}`
    const tables = existing?.tables ?? []
    await client.query('BEGIN')
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${at.schema}"`)
    if (keep) await client.query(`CREATE SCHEMA "${aside}"`)
    for (const table of tables) {
      await client.query(keep ? `ALTER TABLE "${at.schema}".${table} SET SCHEMA "${aside}"` : `DROP TABLE "${at.schema}".${table}`)
    }
    await client.query('COMMIT')
    const putBack = async () => {
      if (!keep) return
      await client.query('BEGIN')
      for (const table of tables) await client.query(`ALTER TABLE "${aside}".${table} SET SCHEMA "${at.schema}"`)
      await client.query(`DROP SCHEMA "${aside}"`)
      await client.query('COMMIT')
    }
    try {
      // One transaction: a failure restores nothing.
      await run(
        'pg_restore',
        ['--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', `--schema=${at.schema}`, file],
        at,
      )
    } catch (err) {
      await putBack()
      throw err
    }
    const summary = await summarize(client, at.schema)
    if (!summary) {
      await putBack()
      throw new Error(`the backup holds no sketchroom tables of schema "${at.schema}": was it made from that schema?`)
    }
    const { tables: _, ...counts } = summary
    return { replaced: keep ? aside : null, summary: { ...counts, integrity: 'ok' } }
  } finally {
    await client.end()
  }
}

/** Thrown when a restore would overwrite data it was not told to replace. */
export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused'
}

async function connect(at: PostgresLocation): Promise<pg.Client> {
  if (!isSchemaName(at.schema)) throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(at.schema)}`)
  const client = new pg.Client({ connectionString: at.url, connectionTimeoutMillis: 10_000 })
  await client.connect()
  return client
}

/** Counts of the schema's sketchroom tables, or null when it has none. */
async function summarize(client: pg.Client, schema: string): Promise<(Omit<DatabaseSummary, 'integrity'> & { tables: string[] }) | null> {
  const { rows } = await client.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name = ANY($2)',
    [schema, TABLES],
  )
  const tables = rows.map((r) => r.table_name)
  if (!tables.includes('sketchroom_updates')) return null
  const counts = await client.query<{ boards: number; entries: number }>(
    `SELECT count(DISTINCT room)::int AS boards, count(*)::int AS entries FROM "${schema}".sketchroom_updates`,
  )
  let dataFormat = 0
  if (tables.includes('sketchroom_meta')) {
    const format = await client.query<{ value: string }>(`SELECT value FROM "${schema}".sketchroom_meta WHERE key = 'format'`)
    dataFormat = Number(format.rows[0]?.value ?? 0)
  }
  return { dataFormat, boards: counts.rows[0]!.boards, logEntries: counts.rows[0]!.entries, tables }
}

/** The version line of an installed PostgreSQL client tool, or an error that says how to get it. */
function clientTool(name: 'pg_dump' | 'pg_restore'): string {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${name} is not installed (or not on PATH): install PostgreSQL's client tools, of the server's major version or newer ` +
        '(Debian/Ubuntu: apt-get install postgresql-client)',
    )
  }
  return probe.stdout.trim()
}

/**
 * Runs a PostgreSQL client tool on DATABASE_URL. The password goes in PGPASSWORD, not on
 * the command line, where any user of the machine could read it.
 */
function run(tool: string, args: string[], at: PostgresLocation): Promise<void> {
  const url = new URL(at.url)
  const password = decodeURIComponent(url.password)
  url.password = ''
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) }
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...args, `--dbname=${url.toString()}`], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} failed (exit ${code}): ${stderr.trim()}`))))
  })
}
