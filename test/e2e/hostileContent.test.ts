/**
 * [S85] No update the server accepts can stop a fresh browser from loading the board. A
 * hostile editor (anyone with the room id) sends the nastiest content the server lets
 * through — values and shared types nested to the limit, odd root types, subdocuments,
 * garbage in `records` and `meta` — and then a fresh Chromium page must still show the
 * board with its shapes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { newRoomId } from '../../lib/roomId'
import { encodeSyncStep1, encodeUpdate, parseMessage } from '../../server/protocol/messages'
import { geoShape, records, seedBoard } from '../abuse/board'
import { connectClient, synced, waitFor } from '../helpers'
import { type AppServer, hasChromium, shapeIds, startSuite, waitForEditor } from './harness'

const DEPTH = 40

function nestedJson(depth: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value }
  return value
}

/** Each a change a hostile editor makes on its own copy of the board, as one update. */
const attacks: Array<[string, (doc: Y.Doc) => void]> = [
  ['a value nested to the limit under another root', (doc) => doc.getMap('elsewhere').set('deep', nestedJson(DEPTH))],
  [
    'a value nested to the limit in a shape’s meta',
    (doc) =>
      doc.getArray('records').push([{ key: 'shape:geo1', val: { ...geoShape('shape:geo1'), meta: { deep: nestedJson(DEPTH - 4) } } }]),
  ],
  ['a value nested to the limit in meta', (doc) => doc.getMap('meta').set('deep', nestedJson(DEPTH))],
  [
    'shared types nested past the limit',
    (doc) => {
      let map = doc.getMap('nest')
      for (let i = 0; i < DEPTH * 3; i++) {
        const child = new Y.Map()
        map.set('child', child)
        map = child
      }
    },
  ],
  [
    'arrays of arrays to the limit',
    (doc) => {
      let array = doc.getArray('arrays')
      for (let i = 0; i < DEPTH - 1; i++) {
        const child = new Y.Array()
        array.push([child])
        array = child
      }
    },
  ],
  [
    'a thousand root types',
    (doc) => {
      for (let i = 0; i < 1000; i++) doc.getMap(`root-${i}`).set('x', i)
    },
  ],
  ['a big string', (doc) => doc.getText('notes').insert(0, 'x'.repeat(500_000))],
  [
    'rich text with formats and embeds',
    (doc) => {
      const text = doc.getText('rich')
      text.insert(0, 'formatted', { bold: nestedJson(DEPTH - 2) })
      text.insertEmbed(0, { embed: nestedJson(DEPTH - 2) })
    },
  ],
  ['a subdocument', (doc) => doc.getMap('subdocs').set('doc', new Y.Doc())],
  ['binary content', (doc) => doc.getArray('bytes').push([new Uint8Array(10_000)])],
  [
    'garbage entries in records',
    (doc) => {
      const array = doc.getArray('records')
      array.push([42, 'text', null, { key: 'no-value' }, { val: 'no-key' }, { key: 'shape:geo1' }, [1, 2]])
      array.push([new Y.Map()])
    },
  ],
  [
    'garbage in meta',
    (doc) => {
      const meta = doc.getMap('meta')
      meta.set('title', { not: 'a string' })
      meta.set('other', new Y.Array())
    },
  ],
  [
    'every other root deleted',
    (doc) => {
      doc.getMap('elsewhere').clear()
      doc.getText('notes').delete(0, 1000)
    },
  ],
]

describe.skipIf(!hasChromium)('[S85] hostile content', () => {
  let app: AppServer
  let browser: Browser
  const roomId = newRoomId()

  beforeAll(async () => {
    ;({ app, browser } = await startSuite({ MAX_NESTING_DEPTH: String(DEPTH) }))
  }, 300_000)

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('after the nastiest updates the server accepts, a fresh browser still shows the board', async () => {
    const wsUrl = `${app.origin.replace('http', 'ws')}/sync`
    const owner = connectClient(wsUrl, roomId)
    await synced(owner)
    const shapes = ['shape:geo1', 'shape:text1', 'shape:note1']
    seedBoard(owner.doc)
    const server = () => app.server.sync.rooms.get(roomId)
    await waitFor(() => records(server()?.doc ?? new Y.Doc()).has('shape:note1'), 'the seeded board on the server')

    // The hostile editor: a raw socket sending each change as one update, from its own copy.
    const hostile = new Y.Doc()
    Y.applyUpdate(hostile, Y.encodeStateAsUpdate(owner.doc))
    const outcomes: string[] = []
    for (const [name, attack] of attacks) {
      const ws = new WebSocket(`${wsUrl}/${roomId}`)
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
      await new Promise((resolve) => ws.once('open', resolve))
      ws.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
      await new Promise<void>((resolve) =>
        ws.on('message', (data: Buffer) => parseMessage(new Uint8Array(data)).type === 'sync-step2' && resolve()),
      )
      // (No YKeyValue on this doc: its garbage entries would break one, as they would break a browser's.)
      const before = Y.encodeStateVector(hostile)
      attack(hostile)
      ws.send(encodeUpdate(Y.encodeStateAsUpdate(hostile, before)))
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(0), 500))])
      outcomes.push(`${name}: ${code === 0 ? 'accepted' : `closed ${code}`}`)
      ws.terminate()
    }
    console.log(`[S85] ${outcomes.join('; ')}`)
    expect(outcomes.filter((o) => o.endsWith('accepted')).length).toBeGreaterThan(attacks.length / 2)
    owner.destroy()

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const errors: string[] = []
    const page = await context.newPage()
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    await expect.poll(() => shapeIds(page), { timeout: 30_000 }).toEqual(expect.arrayContaining(shapes))
    expect(errors.filter((e) => /Maximum call stack|RangeError/.test(e))).toEqual([])
    // And it is still a board one can draw on.
    await page.evaluate(() => void window.editor!.createShape({ type: 'geo', x: 500, y: 500, props: { w: 50, h: 50 } }))
    await expect.poll(() => shapeIds(page).then((ids) => ids.length)).toBe(shapes.length + 1)
    await context.close()
  })
})
