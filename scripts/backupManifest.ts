/**
 * The manifest of a backup directory (`npm run backup`): what it is, what made it, what it
 * holds, and a SHA-256 of every file, which `npm run restore` checks before it touches
 * anything.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { DATA_FORMAT } from '../server/storage/dataFormat'

export const MANIFEST_FILE = 'manifest.json'
/** The database inside a backup: SQLite's file, or PostgreSQL's `pg_dump` archive. */
export const SQLITE_FILE = 'sketchroom.db'
export const PG_DUMP_FILE = 'database.pgdump'
export const SECRET_FILE = 'auth-secret'
export const ASSETS_DIR = 'assets'

export interface BackupFile {
  /** Relative to the backup directory, with `/`. */
  path: string
  bytes: number
  sha256: string
}

export interface BackupManifest {
  kind: 'sketchroom-backup'
  manifestVersion: 1
  /** When the database copy was taken: it holds everything stored before this moment. */
  createdAt: string
  finishedAt: string
  /** The sketchroom release, Node.js and storage engine that made it. */
  release: string
  node: string
  dataFormat: number
  store: { kind: 'sqlite'; sqlite: string } | { kind: 'postgres'; schema: string; server: string; pgDump: string }
  counts: { boards: number; logEntries: number; assets: number; assetBytes: number }
  /** Where links' secret is: in the backup (`file`), in AUTH_SECRET (not in the backup), or nowhere yet. */
  secret: 'file' | 'AUTH_SECRET' | 'none'
  files: BackupFile[]
}

/** Size and SHA-256 of one file of a backup directory. */
export async function describeFile(dir: string, relative: string): Promise<BackupFile> {
  const file = path.join(dir, relative)
  const hash = createHash('sha256')
  await pipeline(fs.createReadStream(file), hash)
  return { path: relative.split(path.sep).join('/'), bytes: fs.statSync(file).size, sha256: hash.digest('hex') }
}

/** Writes the manifest last and atomically: a backup without one is incomplete. */
export function writeManifest(dir: string, manifest: BackupManifest): void {
  const tmp = path.join(dir, `${MANIFEST_FILE}.tmp`)
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`)
  fs.renameSync(tmp, path.join(dir, MANIFEST_FILE))
}

/**
 * Reads a backup's manifest and checks every file it lists against its size and SHA-256,
 * and that this release can read its data. Returns every problem found, not only the first.
 */
export async function verifyBackup(dir: string): Promise<{ manifest: BackupManifest | null; problems: string[] }> {
  const file = path.join(dir, MANIFEST_FILE)
  if (!fs.existsSync(file)) return { manifest: null, problems: [`${file} is missing: not a backup, or an incomplete one`] }
  let manifest: BackupManifest
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as BackupManifest
  } catch (err) {
    return { manifest: null, problems: [`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`] }
  }
  if (manifest.kind !== 'sketchroom-backup' || manifest.manifestVersion !== 1 || !Array.isArray(manifest.files)) {
    return { manifest: null, problems: [`${file} is not a sketchroom backup manifest this release reads`] }
  }
  const problems: string[] = []
  if (manifest.dataFormat > DATA_FORMAT) {
    problems.push(
      `the backup holds data format ${manifest.dataFormat} (sketchroom ${manifest.release}); this release reads up to ${DATA_FORMAT}`,
    )
  }
  problems.push(...(await checkFiles(dir, manifest.files)))
  return { manifest, problems }
}

/** Checks files against their manifest entries; returns what is missing or differs. */
export async function checkFiles(dir: string, files: BackupFile[]): Promise<string[]> {
  const problems: string[] = []
  for (const entry of files) {
    const relative = path.normalize(entry.path)
    if (path.isAbsolute(relative) || relative.startsWith('..')) {
      problems.push(`${entry.path}: a path outside the backup`)
      continue
    }
    if (!fs.existsSync(path.join(dir, relative))) {
      problems.push(`${entry.path}: missing`)
      continue
    }
    const actual = await describeFile(dir, relative)
    if (actual.bytes !== entry.bytes || actual.sha256 !== entry.sha256) {
      problems.push(
        `${entry.path}: checksum mismatch (${actual.bytes} bytes, sha256 ${actual.sha256}; the manifest says ${entry.bytes}, ${entry.sha256})`,
      )
    }
  }
  return problems
}
