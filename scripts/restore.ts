/**
 * `npm run restore -- <dir> [--force]`: puts a backup of `npm run backup` back, into
 * DATA_DIR (and, for a PostgreSQL backup, into DATABASE_URL / DATABASE_SCHEMA). Stop the
 * server first.
 *
 * Nothing is touched until every file of the backup matches its manifest's SHA-256, and a
 * DATA_DIR or schema that already holds data is refused unless `--force`; then what was
 * there is kept aside (DATA_DIR/replaced-<time>/, the schema's tables in `<schema>_replaced_<time>`).
 * The files are copied into DATA_DIR/.restore-<time>/, checked again (and SQLite's
 * integrity_check), and only then moved into place.
 */
import fs from 'node:fs'
import path from 'node:path'
import { sqliteFile } from '../server/config'
import { compactTimestamp, DATA_FORMAT } from '../server/storage/dataFormat'
import { RestoreRefused, restorePostgres } from '../server/storage/postgresBackup'
import { summarizeSqlite } from '../server/storage/sqliteBackup'
import { type BackupManifest, checkFiles, PG_DUMP_FILE, SQLITE_FILE, verifyBackup } from './backupManifest'
import { commandLine, fail, plural } from './cli'

const { config, values, args } = commandLine('restore', 'npm run restore -- <backup directory> [--force]', {
  force: { type: 'boolean', default: false },
})
const source = args[0] ? path.resolve(args[0]) : fail('the backup directory is missing')
const dataDir = path.resolve(config.DATA_DIR)
const force = values.force === true

async function restore(): Promise<{ manifest: BackupManifest; replaced: string[] }> {
  const { manifest, problems } = await verifyBackup(source)
  if (!manifest || problems.length > 0) fail(`${source} cannot be restored:\n  ${problems.join('\n  ')}`, 1)
  if (manifest.store.kind === 'postgres' && !config.DATABASE_URL) {
    fail('this is a backup of a PostgreSQL deployment: set DATABASE_URL (and DATABASE_SCHEMA) to the database to restore it into', 1)
  }
  if (manifest.store.kind === 'postgres' && manifest.store.schema !== config.DATABASE_SCHEMA) {
    fail(
      `this backup holds PostgreSQL schema "${manifest.store.schema}", and DATABASE_SCHEMA is "${config.DATABASE_SCHEMA}": ` +
        `restore it with DATABASE_SCHEMA=${manifest.store.schema}, then rename the schema if you want another name`,
      1,
    )
  }
  if (manifest.store.kind === 'sqlite' && config.DATABASE_URL) {
    fail('this is a backup of an SQLite deployment (DATA_DIR), but DATABASE_URL is set: unset it to restore into DATA_DIR', 1)
  }
  const present = fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : []
  if (present.length > 0 && !force) {
    fail(
      `DATA_DIR=${config.DATA_DIR} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}); restore will not overwrite it. ` +
        'Stop the server and pass --force to keep what is there aside in DATA_DIR/replaced-<time>/, or set DATA_DIR to a new directory',
      1,
    )
  }

  const stamp = compactTimestamp()
  const staging = path.join(dataDir, `.restore-${stamp}`)
  fs.mkdirSync(staging, { recursive: true })
  try {
    const files = manifest.files.filter((f) => f.path !== PG_DUMP_FILE)
    for (const file of files) {
      fs.mkdirSync(path.dirname(path.join(staging, file.path)), { recursive: true })
      fs.copyFileSync(path.join(source, file.path), path.join(staging, file.path))
    }
    // The copies, checked again: the disk they went to may be the one that fails.
    const copied = await checkFiles(staging, files)
    if (copied.length > 0) throw new Error(`the copies in ${staging} do not match the backup:\n  ${copied.join('\n  ')}`)
    if (manifest.store.kind === 'sqlite') {
      const summary = summarizeSqlite(path.join(staging, SQLITE_FILE))
      if (summary.integrity !== 'ok') throw new Error(`the restored database fails PRAGMA integrity_check: ${summary.integrity}`)
      if (summary.boards !== manifest.counts.boards)
        throw new Error(`the restored database holds ${summary.boards} boards, the manifest ${manifest.counts.boards}`)
    }
    const replaced: string[] = []
    if (manifest.store.kind === 'postgres') {
      const result = await restorePostgres({ url: config.DATABASE_URL!, schema: config.DATABASE_SCHEMA }, path.join(source, PG_DUMP_FILE), {
        force,
      })
      if (result.summary.boards !== manifest.counts.boards) {
        throw new Error(`the restored schema holds ${result.summary.boards} boards, the manifest ${manifest.counts.boards}`)
      }
      if (result.replaced) replaced.push(`PostgreSQL schema "${result.replaced}" (DATABASE_SCHEMA=${result.replaced} serves it)`)
    }
    // Everything checked: what was in DATA_DIR goes aside, the copies come in.
    const aside = path.join(dataDir, `replaced-${stamp}`)
    for (const entry of present) {
      fs.mkdirSync(aside, { recursive: true })
      fs.renameSync(path.join(dataDir, entry), path.join(aside, entry))
    }
    if (present.length > 0) replaced.push(aside)
    for (const entry of fs.readdirSync(staging)) fs.renameSync(path.join(staging, entry), path.join(dataDir, entry))
    return { manifest, replaced }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

restore().then(
  ({ manifest: m, replaced }) => {
    const where = m.store.kind === 'sqlite' ? sqliteFile(config) : `PostgreSQL schema "${config.DATABASE_SCHEMA}" and ${dataDir}`
    console.log(
      `restore: ${plural(m.counts.boards, 'board')} and ${plural(m.counts.assets, 'image')} of ${m.createdAt} (sketchroom ${m.release}) → ${where}`,
    )
    if (m.secret === 'AUTH_SECRET')
      console.log('restore: links were signed with AUTH_SECRET, which is not in backups: start the server with the same one')
    if (m.dataFormat < DATA_FORMAT) console.log(`restore: data format ${m.dataFormat}; the server migrates it to ${DATA_FORMAT} on start`)
    for (const r of replaced) console.log(`restore: what was there is kept in ${r}`)
  },
  (err: unknown) => {
    if (err instanceof RestoreRefused) fail(err.message, 1)
    fail(`failed, nothing restored: ${err instanceof Error ? err.message : String(err)}`, 1)
  },
)
