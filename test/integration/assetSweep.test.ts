/**
 * [S131] Images nobody uses any more are deleted; images a board or a version still uses
 * are not. A real server with its own DATA_DIR, uploads over HTTP, boards drawn by a stock
 * y-websocket client.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { AssetRecordType } from '@tldraw/tlschema'
import { expect, test } from 'vitest'
import * as Y from 'yjs'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { records, seedBoard } from '../abuse/board'
import { synced, testScope, type TestServer, waitFor } from '../helpers'

const { server, client } = testScope()
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
const ROOM = 'AssetSweepBoard123456'
const HOUR = 3_600_000

async function upload(s: TestServer): Promise<{ url: string; hash: string }> {
  const res = await fetch(`http://127.0.0.1:${s.port}/api/assets`, {
    method: 'POST',
    body: new Uint8Array(Buffer.concat([PNG, randomBytes(256)])),
    headers: { 'content-type': 'image/png', [ASSET_BOARD_HEADER]: ROOM },
  })
  expect(res.status).toBe(201)
  const { url } = (await res.json()) as { url: string }
  return { url, hash: url.split('/').pop()! }
}

function imageAsset(name: string, src: string) {
  return AssetRecordType.create({
    id: `asset:${name}` as never,
    type: 'image',
    props: { name: `${name}.png`, src, w: 1, h: 1, mimeType: 'image/png', isAnimated: false, fileSize: PNG.length + 256 },
  })
}

const status = async (s: TestServer, url: string) => (await fetch(`http://127.0.0.1:${s.port}${url}`)).status

async function metric(s: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
}

test('[S131] an image no board and no version mentions is deleted after the grace; one on a board, one only in a version and a fresh one stay', async () => {
  const s = await server(
    {
      VERSION_AFTER_QUIET_MS: '200',
      DORMANT_AFTER_MS: '300',
      UNUSED_ASSETS_GRACE_MS: String(HOUR),
      ASSET_SWEEP_INTERVAL_MS: '200',
    },
    { assets: true },
  )
  const onBoard = await upload(s)
  const inVersion = await upload(s)
  const orphan = await upload(s)
  const fresh = await upload(s)

  const a = client(s, ROOM)
  await synced(a)
  seedBoard(a.doc)
  a.doc.transact(() => {
    records(a.doc).set('asset:kept', imageAsset('kept', onBoard.url))
    records(a.doc).set('asset:versioned', imageAsset('versioned', inVersion.url))
  })
  const versions = async () =>
    ((await (await fetch(`http://127.0.0.1:${s.port}/api/boards/${ROOM}/versions`)).json()) as { versions: unknown[] }).versions
  await waitFor(async () => (await versions()).length >= 1, 'a version with both images')
  // All but the fresh one were written before the grace. Aged only now that the board holding
  // two of them is stored: a sweep every 200 ms would otherwise find them old and unmentioned.
  const old = new Date(Date.now() - 2 * HOUR)
  for (const { hash } of [onBoard, inVersion, orphan]) fs.utimesSync(path.join(s.dataDir, 'assets', hash), old, old)
  // The second image leaves the board; once the room sleeps its log is compacted, so only
  // the version still mentions it.
  records(a.doc).delete('asset:versioned')
  await waitFor(() => s.sync.rooms.get(ROOM)?.isDormant === true, 'the room to sleep (its log compacted)')
  // The board's state as anti-entropy would send it whole (a dormant room stays asleep).
  const state = s.sync.rooms.get(ROOM)!.replica.diff(Y.encodeStateVector(new Y.Doc()))
  expect(Buffer.from(state).includes(inVersion.hash)).toBe(false)

  const before = await metric(s, 'sketchroom_asset_sweeps_total')
  await waitFor(async () => (await metric(s, 'sketchroom_asset_sweeps_total')) >= before + 2, 'two sweeps after that')
  expect(await status(s, orphan.url)).toBe(404)
  expect(fs.existsSync(path.join(s.dataDir, 'assets', orphan.hash))).toBe(false)
  expect(await status(s, onBoard.url)).toBe(200)
  expect(await status(s, inVersion.url)).toBe(200)
  expect(await status(s, fresh.url)).toBe(200)
  expect(await metric(s, 'sketchroom_assets_deleted_total')).toBe(1)
  // The upload budget counts what is left: uploads go on.
  await upload(s)
})
