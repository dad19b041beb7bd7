/**
 * `npm run backup -- <dir>`: a consistent copy of everything a server keeps, taken while it
 * runs and people draw, into a new directory:
 *
 *   sketchroom.db      SQLite's online backup of DATA_DIR/sketchroom.db (or, with
 *   database.pgdump    DATABASE_URL, a pg_dump archive of sketchroom's tables in DATABASE_SCHEMA)
 *   assets/            the uploaded images of DATA_DIR/assets
 *   auth-secret        the secret that signs links, unless it comes from AUTH_SECRET
 *   manifest.json      time, versions, counts, and the SHA-256 of every file (written last)
 *
 * `npm run restore -- <dir>` puts it back.
 */
import fs from 'node:fs'
import path from 'node:path'
import { sqliteFile } from '../server/config'
import { releaseVersion } from '../server/release'
import { dumpPostgres } from '../server/storage/postgresBackup'
import { backupSqlite, type DatabaseSummary, sqliteVersion } from '../server/storage/sqliteBackup'
import { ASSETS_DIR, type BackupManifest, describeFile, PG_DUMP_FILE, SECRET_FILE, SQLITE_FILE, writeManifest } from './backupManifest'
import { commandLine, fail, isEmptyDir, listAssets, plural } from './cli'

const { config, args } = commandLine('backup', 'npm run backup -- <new or empty directory>', {})
const dest = args[0] ? path.resolve(args[0]) : fail('the backup directory is missing')
const existed = fs.existsSync(dest)
if (existed && !isEmptyDir(dest)) fail(`${dest} is not empty; a backup goes into a new or empty directory`)
const dataDir = path.resolve(config.DATA_DIR)

async function backup(): Promise<BackupManifest> {
  fs.mkdirSync(dest, { recursive: true })
  const createdAt = new Date().toISOString()
  let summary: DatabaseSummary
  let store: BackupManifest['store']
  if (config.DATABASE_URL) {
    const dump = await dumpPostgres({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA }, path.join(dest, PG_DUMP_FILE))
    summary = dump
    store = { kind: 'postgres', schema: config.DATABASE_SCHEMA, server: dump.server, pgDump: dump.pgDump }
  } else {
    const source = sqliteFile(config)
    if (!fs.existsSync(source)) fail(`DATA_DIR=${config.DATA_DIR} holds no ${SQLITE_FILE}: set DATA_DIR to the server's data directory`)
    summary = await backupSqlite(source, path.join(dest, SQLITE_FILE))
    if (summary.integrity !== 'ok') throw new Error(`the copy fails PRAGMA integrity_check: ${summary.integrity}`)
    store = { kind: 'sqlite', sqlite: sqliteVersion() }
  }
  // Images are written once, under the hash of their bytes, and renamed into place when
  // complete: any file present now is whole and never changes.
  const assets = listAssets(path.join(dataDir, ASSETS_DIR))
  if (assets.length > 0) fs.mkdirSync(path.join(dest, ASSETS_DIR))
  for (const name of assets) fs.copyFileSync(path.join(dataDir, ASSETS_DIR, name), path.join(dest, ASSETS_DIR, name))
  let secret: BackupManifest['secret'] = 'none'
  if (config.AUTH_SECRET) secret = 'AUTH_SECRET'
  else if (fs.existsSync(path.join(dataDir, SECRET_FILE))) {
    fs.copyFileSync(path.join(dataDir, SECRET_FILE), path.join(dest, SECRET_FILE))
    fs.chmodSync(path.join(dest, SECRET_FILE), 0o600)
    secret = 'file'
  }
  const names = [
    store.kind === 'sqlite' ? SQLITE_FILE : PG_DUMP_FILE,
    ...assets.map((a) => path.join(ASSETS_DIR, a)),
    ...(secret === 'file' ? [SECRET_FILE] : []),
  ]
  const files = await Promise.all(names.map((name) => describeFile(dest, name)))
  const assetFiles = files.filter((f) => f.path.startsWith(`${ASSETS_DIR}/`))
  const manifest: BackupManifest = {
    kind: 'sketchroom-backup',
    manifestVersion: 1,
    createdAt,
    finishedAt: new Date().toISOString(),
    release: releaseVersion(),
    node: process.version,
    dataFormat: summary.dataFormat,
    store,
    counts: {
      boards: summary.boards,
      logEntries: summary.logEntries,
      assets: assetFiles.length,
      assetBytes: assetFiles.reduce((sum, f) => sum + f.bytes, 0),
    },
    secret,
    files,
  }
  writeManifest(dest, manifest)
  return manifest
}

const started = Date.now()
backup().then(
  (m) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    const secret = {
      file: 'the link secret',
      AUTH_SECRET: 'not the link secret (it is AUTH_SECRET: keep it yourself)',
      none: 'no link secret yet',
    }
    console.log(
      `backup: ${plural(m.counts.boards, 'board')} (${plural(m.counts.logEntries, 'log entry', 'log entries')}, data format ${m.dataFormat}, ${m.store.kind}), ` +
        `${plural(m.counts.assets, 'image')}, ${secret[m.secret]} → ${dest} in ${seconds} s`,
    )
  },
  (err: unknown) => {
    // An incomplete backup must not look like one: take away what was written.
    if (!existed) fs.rmSync(dest, { recursive: true, force: true })
    else for (const entry of fs.readdirSync(dest)) fs.rmSync(path.join(dest, entry), { recursive: true, force: true })
    fail(`failed, nothing kept: ${err instanceof Error ? err.message : String(err)}`, 1)
  },
)
