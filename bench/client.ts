/**
 * Client-side figures, measured in real Chromium against the real server (production
 * build, server limits at their defaults), each next to the floor: tldraw alone doing the
 * same work in the same Chromium, same build, same run (runs interleaved).
 *
 *   open    from `page.goto(board)` in a fresh browser context (empty IndexedDB, so all
 *           comes from the server) until a frame has been painted in which all N shapes
 *           are in the editor's store AND all N shape elements (`.tl-shape`) are in the
 *           DOM. tldraw keeps every shape's element in the DOM and hides off-screen ones
 *           (`display: none`). Floor: `/bench/tldraw` (components/bench/LocalCanvas.tsx),
 *           plain tldraw that `loadSnapshot`s the same records, handed to the page before
 *           its scripts run; no Yjs, no server, nothing stored.
 *   again   the same, opened a second time in the same context (IndexedDB, HTTP cache and
 *           service worker warm; the first page stayed 2 s for them). Floor: the same.
 *   remote  from the writer's `editor.updateShapes` of M shapes (one tldraw batch) until a
 *           live viewer's store holds all M changes, their elements' CSS transforms have
 *           changed, and the next frame has been painted. Counted as ours: the writer's
 *           part (tldraw's update done → the Yjs update handed to the socket) plus the
 *           viewer's (the message arrived → painted); the server and the network are
 *           printed but not counted. Floor: the same records (new rotation) put with
 *           `store.mergeRemoteChanges` from memory in the viewer, until painted.
 *
 * Stages come from marks the app notes when the page defines `window.__sketchroomMarks`
 * (components/sync/timing.ts) and from a WebSocket wrapper (when the big message arrived,
 * when the big update was sent). "Painted" = the second requestAnimationFrame after the
 * condition held: its callback runs only after the frame holding the change was produced.
 *
 *   npx tsx bench/client.ts [--shapes 5000] [--batch 1000] [--runs 5]
 *   BENCH_PROFILE=/tmp/prof npx tsx bench/client.ts   # + one profiled open of each kind
 *                                                     #   and one profiled batch (writer
 *                                                     #   and viewer), left out of the figures;
 *                                                     #   read with bench/profile-summary.ts
 *
 * Seeding: the writer's browser opens the empty board and draws (and removes) one shape,
 * so the app writes the document, page and schema; then a stock y-websocket client in
 * Node writes N valid geo shapes (the server validates each) in transactions of 500 (one
 * message each, far below MAX_MESSAGE_BYTES and MAX_MESSAGES_PER_SECOND). Not through
 * `editor.createShapes`: tldraw refuses to create more than `maxShapesPerPage` (default
 * 4,000) shapes on a page and does nothing at all when one call would pass it (it only
 * shows a toast), while shapes that arrive from peers are not limited. A fresh Node client
 * then checks the server holds all N, and its records are the floor's snapshot.
 *
 * Builds the app first if the build is missing or stale (see test/e2e/harness.ts).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import * as Y from 'yjs'
import { newRoomId } from '../lib/roomId'
import { seedShapes } from './seedShapes'
import { records } from '../test/abuse/board'
import { ensureProductionBuild, launchChromium, startAppServer } from '../test/e2e/harness'
import { connectClient, waitFor } from '../test/helpers'
import { numberFlag, roundedMedian } from './cli'

const SHAPES = numberFlag('shapes', 5000)
const BATCH = numberFlag('batch', 1000)
const RUNS = numberFlag('runs', 5)
const SEED_CHUNK = 500
const VIEWPORT = { width: 1280, height: 800 }

const median = roundedMedian
const load = () => os.loadavg()[0]!.toFixed(2)

declare global {
  interface Window {
    __bench?: {
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
    /** When the page last handed a WebSocket a message over 50 kB. */
    __lastBigSend?: number
  }
}

/**
 * Runs in the page before any of its scripts: watches every animation frame for N shapes
 * in the editor's store, then N shape elements, then one more frame.
 */
function watchOpen(n: number) {
  const marks: NonNullable<Window['__bench']> = {}
  window.__bench = marks
  const shapeElements = () => document.querySelectorAll('.tl-shape:not(.tl-shape-background)')
  let seen = false
  const tick = () => {
    const e = window.editor
    if (e && !seen) {
      seen = true
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

async function newPage(browser: Browser, context?: BrowserContext): Promise<{ context: BrowserContext; page: Page }> {
  if (!context) {
    context = await browser.newContext({ viewport: VIEWPORT })
    // tsx (esbuild, keepNames) wraps named functions in `__name(...)`; functions sent to the
    // page (evaluate, init scripts) need it defined there.
    await context.addInitScript('globalThis.__name ??= (f) => f')
    await context.addInitScript(() => {
      // The app notes the end of each step here (components/sync/timing.ts).
      globalThis.__sketchroomMarks = []
      const Native = window.WebSocket
      const size = (data: unknown) =>
        typeof data === 'string' ? data.length : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : 0
      window.WebSocket = class extends Native {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args)
          // Added before the app sets `onmessage`, so it runs first.
          this.addEventListener('message', (event: MessageEvent) => {
            if (size(event.data) > 50_000) window.__lastBigMessage = Date.now()
          })
        }
        override send(data: Parameters<WebSocket['send']>[0]) {
          super.send(data)
          if (size(data) > 50_000) window.__lastBigSend = Date.now()
        }
      }
    })
  }
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('  page error:', err.message))
  page.on('crash', () => console.error('  page crashed'))
  return { context, page }
}

type Marks = Record<string, number>

/** The marks an open of ours prints, in the order they come. */
const OURS_MARKS = ['html', 'parsed', 'connect', 'arrived', 'local', 'synced', 'start', 'kv', 'load', 'bound', 'editor', 'dom']
/** The marks an open of tldraw alone prints. */
const FLOOR_MARKS = ['html', 'parsed', 'connect', 'load', 'editor', 'dom']

/** `BENCH_PROFILE=<dir>`: one more open of each kind and one more remote batch, with a CPU profile of the page(s) written there. */
const PROFILE_DIR = process.env.BENCH_PROFILE || null

/** Starts V8's sampling profiler on `page`; the returned function writes the profile to PROFILE_DIR/`name`.cpuprofile. */
async function startProfile(page: Page, name: string): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  return async () => {
    const { profile } = await cdp.send('Profiler.stop')
    fs.mkdirSync(PROFILE_DIR!, { recursive: true })
    fs.writeFileSync(path.join(PROFILE_DIR!, `${name}.cpuprofile`), JSON.stringify(profile))
    await cdp.detach()
  }
}

async function profiled<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  const stop = await startProfile(page, name)
  try {
    return await fn()
  } finally {
    await stop()
  }
}

/** How long the board must be still before an editor renders its preview (components/board/PreviewUploader.tsx), plus a margin. */
const PREVIEW_QUIET_MS = 2_500

/**
 * Resolves once `page` has drawn 10 frames in a row without a long gap: nothing big is
 * running on its main thread (such as the writer rendering the board's preview, which an
 * editor does once the board has been still for 2 s, or y-indexeddb's idle writes).
 */
function settle(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        // A page that draws no frames at all (hidden) is not waited for past 10 s.
        setTimeout(resolve, 10_000)
        let last = performance.now()
        let smooth = 0
        const tick = () => {
          const now = performance.now()
          smooth = now - last < 50 ? smooth + 1 : 0
          last = now
          if (smooth >= 10) resolve()
          else requestAnimationFrame(tick)
        }
        requestAnimationFrame(tick)
      }),
  )
}

/** The app's marks (components/sync/timing.ts), the first of each name. */
async function appMarks(page: Page): Promise<Marks> {
  const list = await page.evaluate(() => globalThis.__sketchroomMarks ?? [])
  const marks: Marks = {}
  for (const [name, ms] of list) marks[name] ??= ms
  return marks
}

/** Opens `url` in `page` and waits until all N shapes are painted; every mark relative to `page.goto`. */
async function timeOpen(page: Page, url: string): Promise<Marks & { total: number; visible: number; first: number }> {
  const started = Date.now()
  await page.goto(url)
  await page.waitForFunction(() => window.__bench?.frame !== undefined, null, { timeout: 300_000 })
  const m = (await page.evaluate(() => ({ ...window.__bench!, arrived: window.__lastBigMessage })))!
  const app = await appMarks(page)
  // When the page's HTML had arrived, and when the document's own scripts had run.
  const nav = await page.evaluate(() => {
    const [entry] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[]
    return entry
      ? { html: performance.timeOrigin + entry.responseEnd, parsed: performance.timeOrigin + entry.domContentLoadedEventEnd }
      : null
  })
  const rel: Marks = {}
  if (nav) {
    rel.html = nav.html - started
    rel.parsed = nav.parsed - started
  }
  for (const [k, v] of Object.entries(app)) rel[k] = v - started
  if (m.arrived !== undefined) rel.arrived = m.arrived - started
  rel.store = m.store! - started
  rel.dom = m.dom! - started
  return { ...rel, total: m.frame! - started, visible: m.visible!, first: m.first! }
}

async function hasShapes(page: Page, n: number): Promise<void> {
  await page.waitForFunction((n) => (window.editor?.getCurrentPageShapeIds().size ?? -1) >= n, n, { timeout: 300_000 })
}

async function openBoard(page: Page, url: string, shapes = 0): Promise<void> {
  await page.goto(url)
  await hasShapes(page, shapes)
}

/** One stage: how long ours took, and tldraw alone (`null`: a step tldraw alone does not have). */
interface Stage {
  name: string
  ours: number[]
  floor: number[] | null
}

const fmt = (ms: number) => (ms >= 100 ? Math.round(ms).toLocaleString('en-US') : ms.toFixed(1))

function printStages(title: string, stages: Stage[]): void {
  console.log(`\n${title}\n`)
  console.log(`| ${'stage'.padEnd(52)} | ${'ours'.padStart(7)} | ${'floor'.padStart(7)} | ${'ratio'.padStart(6)} |`)
  console.log(`|${'-'.repeat(54)}|${'-'.repeat(9)}|${'-'.repeat(9)}|${'-'.repeat(8)}|`)
  for (const { name, ours, floor } of stages) {
    const o = median(ours)
    const f = floor ? median(floor) : null
    const ratio = f === null ? '—' : f > 0 ? `${(o / f).toFixed(2)}×` : '—'
    console.log(`| ${name.padEnd(52)} | ${fmt(o).padStart(7)} | ${(f === null ? '—' : fmt(f)).padStart(7)} | ${ratio.padStart(6)} |`)
  }
}

/** The interval between two marks, 0 when a mark is missing or they are out of order. */
const span = (m: Marks, from: string, to: string) => {
  const a = m[from]
  const b = m[to]
  return a === undefined || b === undefined ? 0 : Math.max(0, b - a)
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
  const floorUrl = `${app.origin}/bench/tldraw`
  const loads: string[] = [load()]
  console.log(`Chromium ${browser.version()}, ${os.cpus().length} cores, load ${loads[0]}; ${SHAPES} shapes, batch ${BATCH}, ${RUNS} runs`)
  try {
    // 1. The writer (step 3) opens the empty board: the app writes the document, page and
    // schema. Then N shapes are written from Node, and the writer waits for all of them.
    const wsUrl = `${app.origin.replace(/^http/, 'ws')}/sync`
    const writer = await newPage(browser)
    await openBoard(writer.page, boardUrl)
    // A board is stored from its first real change: one shape, drawn and removed.
    await writer.page.evaluate(() => void window.editor!.createShapes([{ type: 'geo', x: 0, y: 0 }]))
    await writer.page.waitForTimeout(500)
    await writer.page.evaluate(() => void window.editor!.deleteShapes([...window.editor!.getCurrentPageShapeIds()]))
    const seedStart = Date.now()
    await seedShapes(wsUrl, roomId, SHAPES, SEED_CHUNK)
    await hasShapes(writer.page, SHAPES).catch(async (err: unknown) => {
      const got = await writer.page.evaluate(() => window.editor?.getCurrentPageShapeIds().size)
      throw new Error(`the writer has ${got} of ${SHAPES} shapes`, { cause: err })
    })
    const check = connectClient(wsUrl, roomId)
    const shapeCount = () => [...check.doc.getArray<{ key: string }>('records')].filter((e) => e.key.startsWith('shape:')).length
    await waitFor(() => check.provider.synced && shapeCount() >= SHAPES, `the server to hold ${SHAPES} shapes`, 120_000)
    const docBytes = Y.encodeStateAsUpdate(check.doc).length
    // The floor's input: the same records, as a tldraw store snapshot in the page's memory.
    const snapshot = {
      store: Object.fromEntries([...records(check.doc).map.values()].map((e) => [e.key, e.val])),
      schema: check.doc.getMap('meta').get('schema'),
    }
    check.destroy()
    console.log(
      `seeded ${SHAPES} shapes in ${((Date.now() - seedStart) / 1000).toFixed(1)} s; the server holds them (${(docBytes / 1024 / 1024).toFixed(2)} MiB of Yjs state)`,
    )

    // 2. Open the board RUNS times: ours in a fresh context (empty IndexedDB) and again in
    // the same context (IndexedDB warm); tldraw alone the same way, runs interleaved.
    type Open = Awaited<ReturnType<typeof timeOpen>>
    const cold: Open[] = []
    const warm: Open[] = []
    const floorCold: Open[] = []
    const floorWarm: Open[] = []
    const line = (what: string, r: Open, keys: string[]) =>
      `  ${what}: ${Math.round(r.total)} ms (${keys
        .filter((k) => r[k] !== undefined)
        .map((k) => `${k} ${Math.round(r[k]!)}`)
        .join(', ')}; ${r.first} shapes at mount, ${r.visible} on screen) load ${load()}`
    for (let run = 0; run < RUNS; run++) {
      {
        const { context, page } = await newPage(browser)
        await context.addInitScript(watchOpen, SHAPES)
        const r = await timeOpen(page, boardUrl)
        cold.push(r)
        console.log(line(`open #${run + 1}, ours`, r, OURS_MARKS))
        // Let y-indexeddb finish writing what it keeps before the page goes.
        await page.waitForTimeout(2000)
        await page.close()
        const second = await newPage(browser, context)
        const w = await timeOpen(second.page, boardUrl)
        warm.push(w)
        console.log(
          line(
            `open #${run + 1}, ours again`,
            w,
            OURS_MARKS.filter((name) => name !== 'arrived'),
          ),
        )
        await context.close()
      }
      {
        const { context, page } = await newPage(browser)
        await context.addInitScript(watchOpen, SHAPES)
        await context.addInitScript((s) => {
          globalThis.__sketchroomBenchSnapshot = s as never
        }, snapshot)
        const r = await timeOpen(page, floorUrl)
        floorCold.push(r)
        console.log(line(`open #${run + 1}, tldraw alone`, r, FLOOR_MARKS))
        // As long as ours: the service worker installs meanwhile, for both.
        await page.waitForTimeout(2000)
        await page.close()
        const second = await newPage(browser, context)
        const w = await timeOpen(second.page, floorUrl)
        floorWarm.push(w)
        console.log(line(`open #${run + 1}, tldraw alone again`, w, FLOOR_MARKS))
        await context.close()
      }
      loads.push(load())
    }

    if (PROFILE_DIR) {
      for (const [name, url, snap] of [
        ['open-ours', boardUrl, null],
        ['open-floor', floorUrl, snapshot],
      ] as const) {
        const { context, page } = await newPage(browser)
        await context.addInitScript(watchOpen, SHAPES)
        if (snap)
          await context.addInitScript((s) => {
            globalThis.__sketchroomBenchSnapshot = s as never
          }, snap)
        // Same origin first, so the profiled page keeps its renderer through the navigation.
        await page.goto(`${app.origin}/healthz`)
        const r = await profiled(page, name, () => timeOpen(page, url))
        console.log(`  (profiled ${name}: ${Math.round(r.total)} ms, in ${PROFILE_DIR}/${name}.cpuprofile)`)
        // And the open again, warm, as in the runs.
        await page.waitForTimeout(2000)
        await page.goto(`${app.origin}/healthz`)
        const again = await profiled(page, `${name}-again`, () => timeOpen(page, url))
        console.log(`  (profiled ${name}-again: ${Math.round(again.total)} ms, in ${PROFILE_DIR}/${name}-again.cpuprofile)`)
        await context.close()
      }
    }

    // 3. A live viewer; the writer changes BATCH shapes in one batch, RUNS times; and the
    // same change applied by tldraw alone in the viewer (mergeRemoteChanges from memory).
    const viewer = await newPage(browser)
    await openBoard(viewer.page, boardUrl, SHAPES)
    await viewer.page.waitForTimeout(1000)
    /** In the viewer: resolves when its store has all `batch` shapes at `rotation`, their elements moved, and a frame followed. */
    const watchRemote = (rotation: number) =>
      viewer.page.evaluate(
        ({ batch, rotation }) => {
          const e = window.editor!
          const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
          const els = ids.map((id) => document.querySelector<HTMLElement>(`.tl-shape[data-shape-id="${id}"]:not(.tl-shape-background)`))
          const before = els.map((el) => el?.style.transform)
          globalThis.__sketchroomMarks = []
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
    const remote: Array<Marks> = []
    const floorRemote: Array<Marks> = []
    // A run's change may make a preview due in the writer (2 s later): it renders before the
    // next measurement, so no run, ours or the floor's, shares the two cores with it.
    const quietPages = async () => {
      await viewer.page.waitForTimeout(PREVIEW_QUIET_MS)
      await Promise.all([settle(writer.page), settle(viewer.page)])
    }
    for (let run = 0; run < RUNS + (PROFILE_DIR ? 1 : 0); run++) {
      // The extra run is profiled, and left out of the figures.
      const profiling = run === RUNS
      const rotation = (run + 1) * 7
      const measureOurs = async (): Promise<boolean> => {
        await quietPages()
        const stops = profiling ? [await startProfile(writer.page, 'remote-writer'), await startProfile(viewer.page, 'remote-viewer')] : []
        await watchRemote(rotation)
        const w = await writer.page.evaluate(
          ({ batch, rotation }) => {
            const e = window.editor!
            const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
            window.__lastBigSend = undefined
            globalThis.__sketchroomMarks = []
            const t = Date.now()
            e.run(() => e.updateShapes(ids.map((id) => ({ id, type: 'geo' as const, rotation: rotation / 1000 }))))
            const updated = Date.now()
            return new Promise<{ t: number; updated: number; sent: number }>((resolve) => {
              const wait = () => (window.__lastBigSend ? resolve({ t, updated, sent: window.__lastBigSend }) : setTimeout(wait, 1))
              wait()
            })
          },
          { batch: BATCH, rotation },
        )
        const done = await viewer.page.evaluate(() => window.__remote!)
        const received = await viewer.page.evaluate(() => window.__lastBigMessage ?? 0)
        const vm = await appMarks(viewer.page)
        const wm = await appMarks(writer.page)
        const row: Marks = {
          total: done.frame - w.t,
          updated: w.updated - w.t,
          encode: w.sent - w.updated,
          wait: span({ ...wm, updated: w.updated }, 'updated', 'write-start'),
          yjs: span(wm, 'write-start', 'write'),
          transit: received - w.sent,
          decode: span({ ...vm, received }, 'received', 'remote-kv'),
          apply: span(vm, 'remote-kv', 'remote-store'),
          paint: vm['remote-store'] !== undefined ? done.frame - vm['remote-store'] : 0,
          viewer: done.frame - received,
        }
        row.ours = row.encode! + row.viewer!
        if (profiling) {
          for (const stop of stops) await stop()
          console.log(`  (profiled remote: ${Math.round(row.total!)} ms, writer and viewer in ${PROFILE_DIR})`)
          return true
        }
        remote.push(row)
        loads.push(load())
        console.log(
          `  remote #${run + 1}, ours: ${Math.round(row.total!)} ms end to end (writer: tldraw update ${Math.round(row.updated!)}, then encoded and sent ${Math.round(row.encode!)} (binding called after ${Math.round(row.wait!)}, Yjs ${Math.round(row.yjs!)}); server and network ${Math.round(row.transit!)}; viewer: Yjs decode + YKeyValue ${Math.round(row.decode!)}, store ${Math.round(row.apply!)}, painted ${Math.round(row.paint!)}) load ${load()}`,
        )
        return false
      }
      // tldraw alone: the same records (this rotation + 3), merged from memory in the viewer.
      const measureFloor = async () => {
        const floorRotation = rotation + 3
        await quietPages()
        await watchRemote(floorRotation)
        const f = await viewer.page.evaluate(
          ({ batch, rotation }) => {
            const e = window.editor!
            const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
            const changed = ids.map((id) => ({ ...e.store.get(id)!, rotation: rotation / 1000 }))
            const t = Date.now()
            e.store.mergeRemoteChanges(() => e.store.put(changed))
            return { t, put: Date.now() }
          },
          { batch: BATCH, rotation: floorRotation },
        )
        const fd = await viewer.page.evaluate(() => window.__remote!)
        floorRemote.push({ total: fd.frame - f.t, apply: f.put - f.t, paint: fd.frame - f.put })
        console.log(
          `  remote #${run + 1}, tldraw alone: ${fd.frame - f.t} ms (mergeRemoteChanges ${f.put - f.t}, painted ${fd.frame - f.put})`,
        )
      }
      // Each goes first in every other run, so neither always meets the page the other
      // just warmed up (or left to collect); the profiled run is ours alone.
      if (profiling || run % 2 === 0) {
        if (await measureOurs()) break
        await measureFloor()
      } else {
        await measureFloor()
        await measureOurs()
      }
    }

    const pick = <T>(rows: T[], f: (m: T) => number) => rows.map(f)
    console.log(
      `\nsketchroom client (Chromium ${browser.version()}, production build), ${RUNS} runs each, medians in ms; 1-min load ${loads[0]}–${loads.at(-1)} (max ${Math.max(...loads.map(Number)).toFixed(2)}) on ${os.cpus().length} cores`,
    )
    const pageStage = (m: Open) => m.connect ?? 0
    printStages(`Open a board of ${SHAPES} shapes (fresh context: empty IndexedDB) → all painted`, [
      { name: 'page (until the app starts connecting / loading)', ours: pick(cold, pageStage), floor: pick(floorCold, pageStage) },
      { name: 'state transfer (until the server state arrived)', ours: pick(cold, (m) => span(m, 'connect', 'arrived')), floor: null },
      { name: 'Yjs decode (applied to the doc)', ours: pick(cold, (m) => span(m, 'arrived', 'synced')), floor: null },
      { name: 'YKeyValue (until the binding has its records)', ours: pick(cold, (m) => span(m, 'synced', 'kv')), floor: null },
      { name: 'store load', ours: pick(cold, (m) => span(m, 'kv', 'load')), floor: pick(floorCold, (m) => span(m, 'connect', 'load')) },
      {
        name: 'editor mount',
        ours: pick(cold, (m) => span(m, 'load', 'editor')),
        floor: pick(floorCold, (m) => span(m, 'load', 'editor')),
      },
      {
        name: 'first paint (all N in the DOM, painted)',
        ours: pick(cold, (m) => m.total - (m.editor ?? 0)),
        floor: pick(floorCold, (m) => m.total - (m.editor ?? 0)),
      },
      { name: '**total**', ours: pick(cold, (m) => m.total), floor: pick(floorCold, (m) => m.total) },
    ])
    printStages(`Open it again (same context: IndexedDB and caches warm) → all painted`, [
      { name: 'page (until the app starts connecting / loading)', ours: pick(warm, pageStage), floor: pick(floorWarm, pageStage) },
      { name: 'IndexedDB read + Yjs decode', ours: pick(warm, (m) => span(m, 'connect', 'local')), floor: null },
      { name: 'wait before showing (server or timeout)', ours: pick(warm, (m) => span(m, 'local', 'start')), floor: null },
      { name: 'YKeyValue', ours: pick(warm, (m) => span(m, 'start', 'kv')), floor: null },
      { name: 'store load', ours: pick(warm, (m) => span(m, 'kv', 'load')), floor: pick(floorWarm, (m) => span(m, 'connect', 'load')) },
      {
        name: 'editor mount',
        ours: pick(warm, (m) => span(m, 'load', 'editor')),
        floor: pick(floorWarm, (m) => span(m, 'load', 'editor')),
      },
      { name: 'first paint', ours: pick(warm, (m) => m.total - (m.editor ?? 0)), floor: pick(floorWarm, (m) => m.total - (m.editor ?? 0)) },
      { name: '**total**', ours: pick(warm, (m) => m.total), floor: pick(floorWarm, (m) => m.total) },
    ])
    printStages(`Remote batch of ${BATCH} changed shapes (writer's updateShapes → viewer painted; floor: mergeRemoteChanges from memory)`, [
      { name: "writer's encode (tldraw's update done → Yjs update sent)", ours: pick(remote, (m) => m.encode!), floor: null },
      { name: '  of which: until the binding hears of the change', ours: pick(remote, (m) => m.wait!), floor: null },
      { name: '  of which: Yjs transaction and its encoding', ours: pick(remote, (m) => m.yjs!), floor: null },
      { name: "viewer's Yjs decode + YKeyValue", ours: pick(remote, (m) => m.decode!), floor: null },
      { name: "viewer's store apply", ours: pick(remote, (m) => m.apply!), floor: pick(floorRemote, (m) => m.apply!) },
      { name: "viewer's paint", ours: pick(remote, (m) => m.paint!), floor: pick(floorRemote, (m) => m.paint!) },
      {
        name: '**writer encode + viewer (arrival → painted)**',
        ours: pick(remote, (m) => m.ours!),
        floor: pick(floorRemote, (m) => m.total!),
      },
      { name: "not counted: writer's tldraw update", ours: pick(remote, (m) => m.updated!), floor: null },
      { name: 'not counted: server and network', ours: pick(remote, (m) => m.transit!), floor: null },
      { name: 'end to end', ours: pick(remote, (m) => m.total!), floor: null },
    ])
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
