/**
 * Client-side figures, measured in real Chromium against the real server (production
 * build, server limits at their defaults):
 *
 *   open    from `page.goto(board)` in a fresh browser context (empty IndexedDB, so all
 *           comes from the server) until a frame has been painted in which all N shapes
 *           are in the editor's store AND all N shape elements (`.tl-shape`) are in the
 *           DOM. tldraw keeps every shape's element in the DOM and hides off-screen ones
 *           (`display: none`); the visible ones are counted and printed too.
 *   remote  from the writer's `editor.updateShapes` of M shapes (one tldraw batch, one
 *           Yjs transaction; `Date.now()` in the writer's page) until a live viewer's
 *           store holds all M changes, their elements' CSS transforms have changed, and
 *           the next frame has been painted (`Date.now()` in the viewer's page; both
 *           pages run in one Chromium on one machine, one clock).
 *
 * "Painted" = the second requestAnimationFrame after the condition held: its callback
 * runs only after the frame holding the change was produced.
 *
 *   npx tsx bench/client.ts [--shapes 5000] [--batch 1000] [--runs 5]
 *
 * Seeding: the writer's browser opens the empty board (the app writes the document, page
 * and schema), then a stock y-websocket client in Node writes N valid geo shapes (the
 * server validates each) in transactions of 500 (one message each, far below
 * MAX_MESSAGE_BYTES and MAX_MESSAGES_PER_SECOND). Not through `editor.createShapes`:
 * tldraw refuses to create more than `maxShapesPerPage` (default 4,000) shapes on a page
 * and does nothing at all when one call would pass it (it only shows a toast), while
 * shapes that arrive from peers are not limited. A fresh Node client then checks the
 * server holds all N before anything is timed.
 *
 * Builds the app first if the build is missing or stale (see test/e2e/harness.ts).
 */
import os from 'node:os'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createShapeId, toRichText } from '@tldraw/tlschema'
import { getIndices } from '@tldraw/utils'
import * as Y from 'yjs'
import { newRoomId } from '../lib/roomId'
import { geoShape, records, schema } from '../test/abuse/board'
import { ensureProductionBuild, launchChromium, startAppServer } from '../test/e2e/harness'
import { connectClient, sleep, waitFor } from '../test/helpers'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const SHAPES = arg('shapes', 5000)
const BATCH = arg('batch', 1000)
const RUNS = arg('runs', 5)
const SEED_CHUNK = 500
const VIEWPORT = { width: 1280, height: 800 }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2)
}
const load = () => os.loadavg()[0]!.toFixed(2)

declare global {
  interface Window {
    __bench?: {
      editor?: number
      store?: number
      dom?: number
      frame?: number
      visible?: number
      /** Shapes in the store when the editor first existed (< N: shown before the server's state arrived). */
      first?: number
    }
    __remote?: Promise<{ store: number; frame: number }>
    /** When the last WebSocket message over 50 kB reached the page (before any handler of the app's). */
    __lastBigMessage?: number
  }
}

/**
 * Runs in the page before any of its scripts: watches every animation frame for the
 * editor, then N shapes in its store, then N shape elements, then one more frame.
 */
function watchOpen(n: number) {
  const marks: NonNullable<Window['__bench']> = {}
  window.__bench = marks
  const shapeElements = () => document.querySelectorAll('.tl-shape:not(.tl-shape-background)')
  const tick = () => {
    const e = window.editor
    if (e && marks.editor === undefined) {
      marks.editor = Date.now()
      marks.first = e.getCurrentPageShapeIds().size
    }
    if (e && marks.store === undefined && e.getCurrentPageShapeIds().size >= n) marks.store = Date.now()
    if (marks.store !== undefined && shapeElements().length >= n) {
      marks.dom = Date.now()
      // This callback runs before the frame that shows the shapes; the next one after it.
      requestAnimationFrame(() => {
        marks.frame = Date.now()
        marks.visible = [...shapeElements()].filter((el) => (el as HTMLElement).style.display !== 'none').length
      })
      return
    }
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
}

async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: VIEWPORT })
  // tsx (esbuild, keepNames) wraps named functions in `__name(...)`; functions sent to the
  // page (evaluate, init scripts) need it defined there.
  await context.addInitScript('globalThis.__name ??= (f) => f')
  await context.addInitScript(() => {
    const Native = window.WebSocket
    window.WebSocket = class extends Native {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args)
        // Added before the app sets `onmessage`, so it runs first.
        this.addEventListener('message', (event: MessageEvent) => {
          const size = typeof event.data === 'string' ? event.data.length : (event.data as ArrayBuffer).byteLength
          if (size > 50_000) window.__lastBigMessage = Date.now()
        })
      }
    }
  })
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('  page error:', err.message))
  page.on('crash', () => console.error('  page crashed'))
  page.on('websocket', (ws) => ws.on('close', () => console.error(`  (a board socket closed: ${ws.url()})`)))
  return { context, page }
}

async function hasShapes(page: Page, n: number): Promise<void> {
  await page.waitForFunction((n) => (window.editor?.getCurrentPageShapeIds().size ?? -1) >= n, n, { timeout: 300_000 })
}

async function openBoard(page: Page, url: string, shapes = 0): Promise<void> {
  await page.goto(url)
  await hasShapes(page, shapes)
}

/**
 * Writes `n` geo shapes (50×50 on a 100-wide grid, no label) onto the board's page from a
 * stock y-websocket client in Node, in the app's format (YKeyValue of whole tldraw
 * records), `chunk` records per Yjs transaction (= one WebSocket message each).
 */
async function seed(wsUrl: string, roomId: string, n: number, chunk: number): Promise<void> {
  const client = connectClient(wsUrl, roomId)
  try {
    await waitFor(() => client.provider.synced, 'the seeding client to sync', 30_000)
    const kv = records(client.doc)
    const page = [...kv.map.values()].map((e) => e.val as { typeName?: string; id?: string }).find((r) => r.typeName === 'page')
    if (!page?.id) throw new Error('the board has no page yet')
    const indices = getIndices(n)
    const shapes = Array.from({ length: n }, (_, i) => ({
      ...geoShape(createShapeId(), { w: 50, h: 50, richText: toRichText('') }),
      x: (i % 100) * 60,
      y: Math.floor(i / 100) * 60,
      index: indices[i]!,
      parentId: page.id!,
    }))
    schema.types.shape.validate(shapes[0]) // the server validates every record the same way
    for (let start = 0; start < n; start += chunk) {
      client.doc.transact(() => {
        for (const shape of shapes.slice(start, start + chunk)) kv.set(shape.id, shape)
      })
      // Spread the messages out a little: the server counts them (MAX_MESSAGES_PER_SECOND).
      await sleep(100)
    }
    const ws = client.provider.ws as unknown as { bufferedAmount: number } | null
    await waitFor(() => (ws?.bufferedAmount ?? 0) === 0, 'the seed to be sent', 60_000)
  } finally {
    client.destroy()
  }
}

async function main() {
  const buildMs = ensureProductionBuild()
  if (buildMs) console.log(`(built the app first: ${(buildMs / 1000).toFixed(0)} s)`)
  const app = await startAppServer({ LOG_LEVEL: 'warn' })
  const browser = await launchChromium()
  let finished = false
  browser.on('disconnected', () => finished || console.error('  Chromium disconnected'))
  const roomId = newRoomId()
  const boardUrl = `${app.origin}/b/${roomId}`
  const loads: string[] = [load()]
  console.log(`Chromium ${browser.version()}, ${os.cpus().length} cores, load ${loads[0]}; ${SHAPES} shapes, batch ${BATCH}, ${RUNS} runs`)
  try {
    // 1. The writer (step 3) opens the empty board: the app writes the document, page and
    // schema. Then N shapes are written from Node, and the writer waits for all of them.
    const wsUrl = `${app.origin.replace(/^http/, 'ws')}/sync`
    const writer = await newPage(browser)
    await openBoard(writer.page, boardUrl)
    const seedStart = Date.now()
    await seed(wsUrl, roomId, SHAPES, SEED_CHUNK)
    await hasShapes(writer.page, SHAPES).catch(async (err: unknown) => {
      const got = await writer.page.evaluate(() => window.editor?.getCurrentPageShapeIds().size)
      throw new Error(`the writer has ${got} of ${SHAPES} shapes`, { cause: err })
    })
    const check = connectClient(wsUrl, roomId)
    const shapeCount = () => [...check.doc.getArray<{ key: string }>('records')].filter((e) => e.key.startsWith('shape:')).length
    await waitFor(() => check.provider.synced && shapeCount() >= SHAPES, `the server to hold ${SHAPES} shapes`, 120_000)
    const docBytes = Y.encodeStateAsUpdate(check.doc).length
    check.destroy()
    console.log(
      `seeded ${SHAPES} shapes in ${((Date.now() - seedStart) / 1000).toFixed(1)} s; the server holds them (${(docBytes / 1024 / 1024).toFixed(2)} MiB of Yjs state)`,
    )

    // 2. Open the board in a fresh context, RUNS times.
    const open: Array<{ total: number; editor: number; store: number; dom: number; visible: number }> = []
    for (let run = 0; run < RUNS; run++) {
      const { context, page } = await newPage(browser)
      await context.addInitScript(watchOpen, SHAPES)
      const started = Date.now()
      await page.goto(boardUrl)
      await page.waitForFunction(() => window.__bench?.frame !== undefined, null, { timeout: 120_000 })
      const m = (await page.evaluate(() => window.__bench))!
      const row = {
        total: m.frame! - started,
        editor: m.editor! - started,
        store: m.store! - started,
        dom: m.dom! - started,
        visible: m.visible!,
      }
      open.push(row)
      loads.push(load())
      console.log(
        `  open #${run + 1}: ${row.total} ms (editor mounted ${row.editor} with ${m.first} shapes, all ${SHAPES} in store ${row.store}, in DOM ${row.dom}; ${row.visible} on screen) load ${load()}`,
      )
      await context.close()
    }

    // 3. A live viewer; the writer changes BATCH shapes in one batch, RUNS times.
    const viewer = await newPage(browser)
    await openBoard(viewer.page, boardUrl, SHAPES)
    await viewer.page.waitForTimeout(1000)
    const remote: Array<{ total: number; updated: number; sent: number; received: number; store: number }> = []
    for (let run = 0; run < RUNS; run++) {
      const rotation = (run + 1) * 7
      await viewer.page.evaluate(
        ({ batch, rotation }) => {
          const e = window.editor!
          const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
          const els = ids.map((id) => document.querySelector<HTMLElement>(`.tl-shape[data-shape-id="${id}"]:not(.tl-shape-background)`))
          const before = els.map((el) => el?.style.transform)
          window.__remote = new Promise((resolve) => {
            let i = 0
            let store = 0
            const check = () => {
              // The change arrives as one update; walk forward while shapes are done.
              while (i < ids.length) {
                const s = e.getShape(ids[i]!)
                if (!s || Math.round(s.rotation * 1000) !== rotation) break
                i++
              }
              if (i < ids.length) return void setTimeout(check, 0)
              store ||= Date.now()
              if (els.some((el, k) => !el || el.style.transform === before[k])) return void setTimeout(check, 0)
              requestAnimationFrame(() => requestAnimationFrame(() => resolve({ store, frame: Date.now() })))
            }
            check()
          })
        },
        { batch: BATCH, rotation },
      )
      const w = await writer.page.evaluate(
        ({ batch, rotation }) => {
          const e = window.editor!
          const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
          // Store listeners run in the order they were added: this one after the app's
          // Yjs binding, which has by then written the batch to the doc and the socket.
          const sent = new Promise<number>((resolve) => {
            const stop = e.store.listen(() => (stop(), resolve(Date.now())), { source: 'user', scope: 'document' })
          })
          const t = Date.now()
          e.run(() => e.updateShapes(ids.map((id) => ({ id, type: 'geo' as const, rotation: rotation / 1000 }))))
          const updated = Date.now()
          return sent.then((sent) => ({ t, updated, sent }))
        },
        { batch: BATCH, rotation },
      )
      const done = await viewer.page.evaluate(() => window.__remote!)
      const received = await viewer.page.evaluate(() => window.__lastBigMessage ?? 0)
      const row = {
        total: done.frame - w.t,
        updated: w.updated - w.t,
        sent: w.sent - w.t,
        received: received - w.t,
        store: done.store - w.t,
      }
      remote.push(row)
      loads.push(load())
      console.log(
        `  remote #${run + 1}: ${row.total} ms (writer: tldraw update ${row.updated}, sent ${row.sent}; viewer: received ${row.received}, all ${BATCH} in store ${row.store}) load ${load()}`,
      )
      await viewer.page.waitForTimeout(500)
    }

    const table = (name: string, xs: number[]) =>
      `| ${name.padEnd(58)} | ${String(median(xs)).padStart(6)} | ${String(Math.min(...xs)).padStart(6)} | ${String(Math.max(...xs)).padStart(6)} |`
    console.log(
      `\nsketchroom client (Chromium ${browser.version()}, production build), ${RUNS} runs each, ms; 1-min load ${loads[0]}–${loads.at(-1)} on ${os.cpus().length} cores\n`,
    )
    console.log(`| ${'measure'.padEnd(58)} | ${'median'.padStart(6)} | ${'min'.padStart(6)} | ${'max'.padStart(6)} |`)
    console.log(`|${'-'.repeat(60)}|${'-'.repeat(8)}|${'-'.repeat(8)}|${'-'.repeat(8)}|`)
    console.log(
      table(
        `open a board of ${SHAPES} shapes → all rendered (painted)`,
        open.map((r) => r.total),
      ),
    )
    console.log(
      table(
        `  of which: editor mounted`,
        open.map((r) => r.editor),
      ),
    )
    console.log(
      table(
        `  of which: all ${SHAPES} in the store`,
        open.map((r) => r.store),
      ),
    )
    console.log(
      table(
        `remote batch of ${BATCH} changed shapes → applied, painted`,
        remote.map((r) => r.total),
      ),
    )
    console.log(
      table(
        `  of which: writer's tldraw update done`,
        remote.map((r) => r.updated),
      ),
    )
    console.log(
      table(
        `  of which: writer's Yjs update sent`,
        remote.map((r) => r.sent),
      ),
    )
    console.log(
      table(
        `  of which: viewer received it`,
        remote.map((r) => r.received),
      ),
    )
    console.log(
      table(
        `  of which: all ${BATCH} in the viewer's store`,
        remote.map((r) => r.store),
      ),
    )
  } finally {
    finished = true
    await browser.close()
    await app.close()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
