import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { DATA_FORMAT } from '../server/storage/dataFormat'
import { tempDir } from '../test/helpers'
import { type BackupManifest, describeFile, verifyBackup, writeManifest } from './backupManifest'

async function backupWith(files: Record<string, string>, change: Partial<BackupManifest> = {}): Promise<string> {
  const dir = tempDir()
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  const manifest: BackupManifest = {
    kind: 'sketchroom-backup',
    manifestVersion: 1,
    createdAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    release: '0.0.0',
    node: process.version,
    dataFormat: DATA_FORMAT,
    store: { kind: 'sqlite', sqlite: '3' },
    counts: { boards: 0, logEntries: 0, assets: 0, assetBytes: 0 },
    secret: 'none',
    files: await Promise.all(Object.keys(files).map((name) => describeFile(dir, name))),
    ...change,
  }
  writeManifest(dir, manifest)
  return dir
}

describe('verifyBackup', () => {
  test('a complete backup has no problems', async () => {
    const dir = await backupWith({ 'sketchroom.db': 'db', 'assets/abc': 'image' })
    expect((await verifyBackup(dir)).problems).toEqual([])
  })

  test('names every missing or changed file, not just the first', async () => {
    const dir = await backupWith({ 'sketchroom.db': 'db', 'assets/a': 'one', 'assets/b': 'two' })
    fs.rmSync(path.join(dir, 'assets/a'))
    fs.writeFileSync(path.join(dir, 'assets/b'), 'tw0')
    const { problems } = await verifyBackup(dir)
    expect(problems).toEqual(['assets/a: missing', expect.stringMatching(/^assets\/b: checksum mismatch/)])
  })

  test('refuses paths outside the backup, a newer data format, and a directory without a manifest', async () => {
    const outside = await backupWith({}, { files: [{ path: '../../etc/passwd', bytes: 1, sha256: 'x' }] })
    expect((await verifyBackup(outside)).problems).toEqual(['../../etc/passwd: a path outside the backup'])
    const newer = await backupWith({}, { dataFormat: DATA_FORMAT + 1, release: '9.0.0' })
    expect((await verifyBackup(newer)).problems).toEqual([
      `the backup holds data format ${DATA_FORMAT + 1} (sketchroom 9.0.0); this release reads up to ${DATA_FORMAT}`,
    ])
    const empty = tempDir()
    expect((await verifyBackup(empty)).problems).toEqual([
      `${path.join(empty, 'manifest.json')} is missing: not a backup, or an incomplete one`,
    ])
  })
})
