/**
 * Losing the network and the server, in real Chromium against the real server: what the
 * indicator says, a reload with no network (the service worker's shell and IndexedDB's
 * board), a new release's worker replacing the old one, and "Saving paused" when the
 * server says so. Then the phone: the top bar fits at 390×844 with touch.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { statusFrame } from '../../components/sync/fakeSyncServer'
import { MessageType } from '../../lib/protocol'
import { newRoomId } from '../../lib/roomId'
import { TokenSigner } from '../../server/http/tokens'
import {
  type AppServer,
  drawRectangle,
  ensureProductionBuild,
  foreignRequests,
  hasChromium,
  hasShape,
  launchChromium,
  SCREENSHOT_DIR,
  screenshotPages,
  startAppServer,
  waitForEditor,
  openDesktop,
  openPhone,
} from './harness'

const OFFLINE_TEXT = 'Offline — changes are kept on this device'
const AUTH_SECRET = 'e2e-offline-secret-0123456789abcdef'

describe.skipIf(!hasChromium)('offline, and on a phone', () => {
  let app: AppServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const requests: string[] = []
  const roomId = newRoomId()
  let shape = ''

  const indicator = () =>
    page
      .getByTestId('connection')
      .textContent({ timeout: 1000 })
      .catch(() => '')

  beforeAll(async () => {
    const buildMs = ensureProductionBuild()
    if (buildMs) console.log(`e2e: next build took ${(buildMs / 1000).toFixed(1)} s`)
    app = await startAppServer({ AUTH_SECRET, MAX_CONNECTIONS_PER_MINUTE: '100000' })
    browser = await launchChromium()
    ;({ context, page } = await openDesktop(browser, requests))
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`offline ${ctx.task.name}`, [page])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('offline: one indicator that says changes are kept, with no "Reconnecting…" while there is no network', async () => {
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    shape = await drawRectangle(page, 400, 300)
    await expect.poll(indicator, { timeout: 20_000 }).toBe('Online')

    await context.setOffline(true)
    await expect.poll(indicator, { timeout: 10_000 }).toBe(OFFLINE_TEXT)
    // Several backoff periods: still offline, never "Reconnecting…".
    const seen = new Set<string>()
    for (let i = 0; i < 16; i++) {
      seen.add((await indicator()) ?? '')
      await page.waitForTimeout(500)
    }
    expect([...seen]).toEqual([OFFLINE_TEXT])
    // tldraw's own offline badge is not shown beside ours.
    expect(await page.locator('.tlui-offline-indicator').count()).toBe(0)

    await context.setOffline(false)
    await expect.poll(indicator, { timeout: 20_000 }).toBe('Online')
  })

  test('a board reloads with no network after one online visit: from the cached shell and IndexedDB, saying it is offline', async () => {
    // The worker controls the page and has been handed what the page loaded.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 })
    await expect
      .poll(
        () =>
          page.evaluate(async () => {
            const names = await caches.keys()
            const cache = await caches.open(names.find((n) => n.startsWith('sketchroom-'))!)
            return (await cache.keys()).map((r) => new URL(r.url).pathname)
          }),
        { timeout: 20_000 },
      )
      .toContain(`/b/${roomId}`)

    await context.setOffline(true)
    await page.reload()
    await waitForEditor(page)
    await hasShape(page, shape)
    await expect.poll(indicator, { timeout: 20_000 }).toBe(OFFLINE_TEXT)
    // Drawing goes on offline, and reaches the server once the network is back.
    const offlineShape = await drawRectangle(page, 700, 300)
    await context.setOffline(false)
    await expect.poll(indicator, { timeout: 20_000 }).toBe('Online')
    await expect
      .poll(
        () =>
          app.server.sync.rooms
            .get(roomId)
            ?.doc.getArray('records')
            .toJSON()
            .some((e: { key: string }) => e.key === offlineShape),
        {
          timeout: 20_000,
        },
      )
      .toBe(true)
  })

  test("Export → PDF works offline: pdf-lib is not part of the board's start, follows in the background, and the worker keeps it", async () => {
    // The chunk that holds pdf-lib, by a message only pdf-lib has.
    const chunks = path.join(process.cwd(), '.next/static/chunks')
    const pdfChunk = fs
      .readdirSync(chunks)
      .find((f) => f.endsWith('.js') && fs.readFileSync(path.join(chunks, f), 'utf8').includes('No PDF header found'))
    expect(pdfChunk).toBeTruthy()
    const from = requests.length
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    await hasShape(page, shape)
    expect(requests.slice(from).filter((url) => url.includes(pdfChunk!))).toEqual([])
    const cachedPaths = () =>
      page.evaluate(async () => {
        const names = await caches.keys()
        const cache = await caches.open(names.find((n) => n.startsWith('sketchroom-'))!)
        return (await cache.keys()).map((r) => new URL(r.url).pathname)
      })
    await expect.poll(cachedPaths, { timeout: 30_000 }).toContain(`/_next/static/chunks/${pdfChunk}`)

    await context.setOffline(true)
    try {
      await page.reload()
      await waitForEditor(page)
      await hasShape(page, shape)
      await page.getByTestId('main-menu.button').click()
      await page.getByTestId('main-menu-sub.export-all-as-button').click()
      const [file] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        page.getByTestId('main-menu.sketchroom-export-pdf').click(),
      ])
      expect(file.suggestedFilename()).toMatch(/\.pdf$/)
      expect(
        fs
          .readFileSync(await file.path())
          .subarray(0, 5)
          .toString(),
      ).toBe('%PDF-')
    } finally {
      await context.setOffline(false)
    }
    await expect.poll(indicator, { timeout: 20_000 }).toBe('Online')
  })

  test('a view-only link reloads offline too: the token cannot be checked, the board opens view-only from this device', async () => {
    const view = new TokenSigner(AUTH_SECRET).sign({ roomId, mode: 'view', expiresAt: null })
    await page.goto(`${app.origin}/v/${view}`)
    await waitForEditor(page)
    await expect.poll(indicator, { timeout: 20_000 }).toBe('View only')
    await hasShape(page, shape)
    await expect
      .poll(() => page.evaluate(async () => (await caches.keys()).length && (await caches.match(location.href)) !== undefined), {
        timeout: 20_000,
      })
      .toBe(true)
    await context.setOffline(true)
    await page.reload()
    await waitForEditor(page)
    await hasShape(page, shape)
    expect(await page.evaluate(() => window.editor!.getIsReadonly())).toBe(true)
    await expect.poll(indicator, { timeout: 20_000 }).toBe('View only · offline')
    await context.setOffline(false)
    await expect.poll(indicator, { timeout: 20_000 }).toBe('View only')
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
  })

  test('the worker never keeps /sync, /api/* or /healthz', async () => {
    await page.evaluate(() => Promise.all([fetch('/healthz'), fetch('/api/assets')]))
    const cached = await page.evaluate(async () => {
      const urls: string[] = []
      for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname)
      return urls
    })
    expect(cached.length).toBeGreaterThan(5)
    expect(cached.filter((p) => p.startsWith('/sync') || p.startsWith('/api/') || p === '/healthz' || p === '/metrics')).toEqual([])
  })

  test("a new release's worker takes over and drops the old release's caches", async () => {
    const before = await page.evaluate(() => caches.keys())
    expect(before).toHaveLength(1)
    // What the next build registers: the same script under its own build id.
    await page.evaluate(() => navigator.serviceWorker.register('/sw.js?v=next-release', { scope: '/' }))
    await expect.poll(() => page.evaluate(() => caches.keys()), { timeout: 20_000 }).toEqual(['sketchroom-next-release'])
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? ''), { timeout: 20_000 })
      .toContain('v=next-release')
  })

  test('"Saving paused" while the server says it cannot save, "Online" again when it can', async () => {
    const routed: WebSocketRoute[] = []
    // Status frames the server itself sent on the latest socket: it says `ok` when a socket
    // joins, so ours are sent only after that one has reached the page, not overtaken by it.
    let serverStatuses = 0
    const p = await context.newPage()
    try {
      await p.routeWebSocket(/\/sync\//, (ws) => {
        const server = ws.connectToServer()
        serverStatuses = 0
        server.onMessage((message) => {
          const bytes = typeof message === 'string' ? Buffer.from(message) : message
          if (bytes[0] === MessageType.Status) serverStatuses++
          ws.send(message)
        })
        routed.push(ws)
      })
      await p.goto(`${app.origin}/b/${roomId}`)
      await waitForEditor(p)
      const shown = () =>
        p
          .getByTestId('connection')
          .textContent({ timeout: 1000 })
          .catch(() => '')
      await expect.poll(shown, { timeout: 20_000 }).toBe('Online')
      await expect.poll(() => serverStatuses, { timeout: 20_000 }).toBeGreaterThan(0)
      expect(new URL(routed[0]!.url()).searchParams.get('features')).toBe('status')
      routed.at(-1)!.send(Buffer.from(statusFrame({ saving: 'paused' })))
      await expect.poll(shown, { timeout: 10_000 }).toBe('Saving paused')
      routed.at(-1)!.send(Buffer.from(statusFrame({ saving: 'ok' })))
      await expect.poll(shown, { timeout: 10_000 }).toBe('Online')
    } finally {
      await p.close()
    }
  })

  test('on a phone (390×844, touch) the top bar fits: Share and the people menu are on screen', async () => {
    const { context: phone, page: p } = await openPhone(browser, requests)
    try {
      await p.goto(`${app.origin}/b/${roomId}`)
      await waitForEditor(p)
      // Someone else is here too, so the people menu shows an avatar of theirs.
      await expect
        .poll(() => p.getByTestId('people-menu').locator('.tlui-people-menu__avatar, .sr-avatar').count(), { timeout: 20_000 })
        .toBeGreaterThan(0)
      await p.getByTestId('board-title').fill('A title long enough to push everything else off a phone screen')
      await p.getByTestId('board-title').press('Enter')
      await p.waitForTimeout(300)
      for (const id of ['share', 'people-menu', 'connection', 'board-title']) {
        const box = await p.getByTestId(id).boundingBox()
        expect(box, id).not.toBeNull()
        expect(box!.x, id).toBeGreaterThanOrEqual(0)
        expect(box!.x + box!.width, id).toBeLessThanOrEqual(390)
        expect(box!.y + box!.height, id).toBeLessThanOrEqual(60)
      }
      fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
      await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'mobile-top-bar.png'), clip: { x: 0, y: 0, width: 390, height: 120 } })
      // And it works by touch: the people menu opens with a tap.
      await p.getByTestId('people-menu').tap()
      await p.getByTestId('people-list').waitFor({ timeout: 10_000 })
      await p.getByTestId('share').tap()
      await p.getByTestId('share-link-edit').waitFor({ timeout: 10_000 })
    } finally {
      await phone.close()
    }
  })

  test('no request leaves the app origin', () => {
    expect(requests.length).toBeGreaterThan(10)
    expect(foreignRequests(requests, app.origin)).toEqual([])
  })
})
