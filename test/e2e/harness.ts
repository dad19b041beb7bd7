/**
 * Shared pieces of the e2e suites: a production build when needed, the real server in
 * this process, and Chromium with the flags that keep it from calling home.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { loadConfig } from '../../server/config'
import { startServer, type RunningServer } from '../../server/app'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const hasChromium = fs.existsSync(CHROMIUM_PATH)
/** `E2E_DEV=1` runs the suite against `next dev` instead of a build: quicker to iterate. */
export const useDevServer = process.env.E2E_DEV === '1'

const BUILD_INPUTS = ['app', 'components', 'lib', 'public', 'next.config.js', 'package-lock.json', 'tsconfig.json', 'tsconfig.next.json']

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0
  const stat = fs.statSync(p)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of fs.readdirSync(p)) {
    // Copied by next.config.js during every build; it must not make the build look stale.
    if (entry === 'tldraw-assets') continue
    newest = Math.max(newest, newestMtime(path.join(p, entry)))
  }
  return newest
}

/**
 * Runs `next build` when there is no build or a source is newer than it, the same rule
 * `npm start` uses. Returns how long it took (0 when the build was current).
 */
export function ensureProductionBuild(): number {
  if (useDevServer) return 0
  const buildId = path.join(ROOT, '.next', 'BUILD_ID')
  const isCurrent = () => {
    const built = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0
    const changed = Math.max(...BUILD_INPUTS.map((s) => newestMtime(path.join(ROOT, s))))
    return built !== 0 && built >= changed
  }
  if (isCurrent()) return 0
  // Suites run in parallel workers: one builds, the others wait and then find it current.
  const lock = path.join(ROOT, '.next-build.lock')
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      fs.mkdirSync(lock)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // A lock left by a killed build would otherwise block every later run.
      if (Date.now() - fs.statSync(lock).mtimeMs > 15 * 60_000) fs.rmSync(lock, { recursive: true, force: true })
      Atomics.wait(pause, 0, 0, 500)
      if (isCurrent()) return 0
    }
  }
  try {
    if (isCurrent()) return 0
    const started = Date.now()
    const nextBin = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
    const result = spawnSync(process.execPath, [nextBin, 'build'], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
    })
    if (result.status !== 0) throw new Error(`next build failed with status ${result.status}`)
    return Date.now() - started
  } finally {
    fs.rmSync(lock, { recursive: true, force: true })
  }
}

export interface AppServer {
  server: RunningServer
  origin: string
  dataDir: string
  /** Stops the server and starts a new one on the same port and data dir. */
  restart(): Promise<void>
  close(): Promise<void>
}

export async function startAppServer(env: Record<string, string> = {}): Promise<AppServer> {
  process.env.NEXT_TELEMETRY_DISABLED = '1'
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-e2e-'))
  const configFor = (port: number) => loadConfig({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env })
  const options = { app: true, dev: useDevServer }
  let server = await startServer(configFor(0), options)
  const port = server.port
  const app: AppServer = {
    get server() {
      return server
    },
    origin: `http://127.0.0.1:${port}`,
    dataDir,
    async restart() {
      await server.close()
      server = await startServer(configFor(port), options)
    },
    async close() {
      await server.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
  return app
}

/**
 * What a suite starts with: a current production build, the app server and Chromium.
 * Every browser connects from 127.0.0.1, so the per-address connection limit is lifted
 * unless `env` says otherwise.
 */
export async function startSuite(env: Record<string, string> = {}): Promise<{ app: AppServer; browser: Browser }> {
  const buildMs = ensureProductionBuild()
  if (buildMs) console.log(`e2e: next build took ${(buildMs / 1000).toFixed(1)} s`)
  const app = await startAppServer({ MAX_CONNECTIONS_PER_MINUTE: '100000', ...env })
  return { app, browser: await launchChromium() }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
}

/** Every URL a context asked for, pages, workers and WebSockets alike. */
export function recordRequests(context: BrowserContext, into: string[]): void {
  context.on('request', (request) => into.push(request.url()))
  context.on('page', (page) => page.on('websocket', (ws) => into.push(ws.url())))
}

/**
 * A desktop context (1280×800, plus `options`) that records every URL into `requests` and
 * skips the first-board name prompt (people.test.ts is where it is tested), and its first
 * page, whose errors go to the test's log.
 */
export async function openDesktop(
  browser: Browser,
  requests: string[],
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
  recordRequests(context, requests)
  await context.addInitScript(() => localStorage.setItem('sketchroom:asked-name', '1'))
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('[page] page error:', err.message))
  return { context, page }
}

/**
 * A phone's context (390×844, touch) and a page in it, its requests recorded in
 * `requests` when given. Unlike {@link openDesktop}, nobody has been asked for a name yet.
 *
 * @example
 * const { context, page } = await openPhone(browser, requests)
 */
export async function openPhone(browser: Browser, requests: string[] | null = null): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  if (requests) recordRequests(context, requests)
  return { context, page: await context.newPage() }
}

/** URLs that reached a host other than `origin`; blob: and data: never leave the page. */
export function foreignRequests(urls: string[], origin: string): string[] {
  const own = new URL(origin)
  return urls.filter((raw) => {
    const url = new URL(raw)
    if (url.protocol === 'blob:' || url.protocol === 'data:') return false
    return url.host !== own.host
  })
}

export const SCREENSHOT_DIR = path.join(ROOT, 'test-results')

/** Saves a screenshot of every page, named after the failing test. */
export async function screenshotPages(name: string, pages: Page[]): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const safe = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)
  await Promise.all(pages.map((page, i) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `${safe}-${i}.png`) }).catch(() => undefined)))
}

/** Anything with a `window.editor` to ask: a page or a frame inside one. */
export type Target = Page | Frame

export const shapeIds = (target: Target): Promise<string[]> =>
  target.evaluate(() =>
    window
      .editor!.getCurrentPageShapes()
      .map((s): string => s.id)
      .sort(),
  )
export const hasShape = (target: Target, id: string) =>
  target.waitForFunction((shapeId) => Boolean(window.editor?.getShape(shapeId as never)), id, { timeout: 20_000 })
export const waitForEditor = (target: Target) => target.waitForFunction(() => Boolean(window.editor), null, { timeout: 60_000 })

/** Draws a rectangle with the mouse in a page's own board; returns its id. */
export async function drawRectangle(page: Page, x: number, y: number): Promise<string> {
  const before = new Set(await shapeIds(page))
  await page
    .locator('.tl-canvas')
    .click({ position: { x: 640, y: 780 }, force: true })
    .catch(() => undefined)
  await page.keyboard.press('Escape')
  await page.keyboard.press('r')
  await page.mouse.move(x, y)
  await page.mouse.down()
  await page.mouse.move(x + 60, y + 40, { steps: 4 })
  await page.mouse.move(x + 120, y + 80, { steps: 4 })
  await page.mouse.up()
  await page.keyboard.press('Escape')
  const added = (await shapeIds(page)).filter((id) => !before.has(id))
  expect(added).toHaveLength(1)
  return added[0]!
}
