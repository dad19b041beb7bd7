/**
 * How long a version of a big board takes to show in the browser (History → click a
 * version), in real Chromium against the real server (production build):
 *
 *   total    from the click on the version in the History panel (`Date.now()` in the page,
 *            just before `click()`) until a frame has been painted in which the preview
 *            holds all N shape elements (`.tl-shape` in the preview's own editor), i.e.
 *            the second requestAnimationFrame after that held
 *   fetched  until the response to `GET /api/boards/<room>/versions/<id>` had arrived
 *            (its Resource Timing `responseEnd`)
 *
 * The board: N geo shapes written from a stock y-websocket client in Node (as in
 * bench/client.ts), a version taken after half a second of quiet (`VERSION_AFTER_QUIET_MS`).
 * Each run opens the version, then goes "Back to now".
 *
 *   npx tsx bench/historyPreview.ts [--shapes 5000] [--runs 5]
 *
 * Builds the app first if the build is missing or stale (see test/e2e/harness.ts).
 */
import os from 'node:os'
import type { Page } from 'playwright-core'
import { newRoomId } from '../lib/roomId'
import { seedShapes } from './seedShapes'
import { ensureProductionBuild, launchChromium, startAppServer } from '../test/e2e/harness'
import { sleep, waitFor } from '../test/helpers'
import { numberFlag, roundedMedian } from './cli'

const SHAPES = numberFlag('shapes', 5000)
const RUNS = numberFlag('runs', 5)
const CHUNK = 500

const median = roundedMedian
const load = () => os.loadavg()[0]!.toFixed(2)

declare global {
  interface Window {
    __preview?: Promise<{ clicked: number; painted: number; fetched: number | null }>
  }
}

/** Clicks the version row and resolves once the preview has painted all `n` shapes. */
function clickAndWatch(page: Page, versionId: string, n: number) {
  return page.evaluate(
    ({ versionId, n }) => {
      const row = document.querySelector<HTMLButtonElement>(`[data-testid="history-version"][data-version-id="${versionId}"]`)
      if (!row) throw new Error('no such version in the panel')
      performance.clearResourceTimings()
      const clicked = Date.now()
      window.__preview = new Promise((resolve) => {
        const tick = () => {
          if (document.querySelectorAll('[data-testid="history-preview"] .tl-shape:not(.tl-shape-background)').length >= n) {
            requestAnimationFrame(() => {
              const entry = performance
                .getEntriesByType('resource')
                .filter((e) => e.name.includes(`/versions/${versionId}`))
                .at(-1) as PerformanceResourceTiming | undefined
              resolve({ clicked, painted: Date.now(), fetched: entry ? Math.round(performance.timeOrigin + entry.responseEnd) : null })
            })
            return
          }
          requestAnimationFrame(tick)
        }
        requestAnimationFrame(tick)
      })
      row.click()
    },
    { versionId, n },
  )
}

async function main() {
  const buildMs = ensureProductionBuild()
  if (buildMs) console.log(`(built the app first: ${(buildMs / 1000).toFixed(0)} s)`)
  const app = await startAppServer({ LOG_LEVEL: 'warn', VERSION_AFTER_QUIET_MS: '500' })
  const browser = await launchChromium()
  const roomId = newRoomId()
  const boardUrl = `${app.origin}/b/${roomId}`
  console.log(`Chromium ${browser.version()}, ${os.cpus().length} cores, load ${load()}; a version of ${SHAPES} shapes, ${RUNS} runs`)
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    // tsx (esbuild, keepNames) wraps named functions in `__name(...)`; the page needs it too.
    await context.addInitScript('globalThis.__name ??= (f) => f')
    const page = await context.newPage()
    page.on('pageerror', (err) => console.error('  page error:', err.message))
    await page.goto(boardUrl)
    await page.waitForFunction(() => Boolean(window.editor), null, { timeout: 60_000 })
    // The board is written with its first real change: one shape, then the others from Node.
    await page.evaluate(() => {
      window.editor!.createShape({ type: 'geo', x: -200, y: -200, props: { w: 50, h: 50 } })
    })
    await seedShapes(`${app.origin.replace(/^http/, 'ws')}/sync`, roomId, SHAPES - 1, CHUNK)
    await page.waitForFunction((n) => (window.editor?.getCurrentPageShapeIds().size ?? 0) >= n, SHAPES, { timeout: 300_000 })
    const listUrl = `${app.origin}/api/boards/${roomId}/versions`
    let versionId = ''
    await waitFor(
      async () => {
        const { versions } = (await (await fetch(listUrl)).json()) as { versions: Array<{ id: string; shapes: number }> }
        versionId = versions.find((v) => v.shapes >= SHAPES)?.id ?? ''
        return versionId !== ''
      },
      `a version with ${SHAPES} shapes`,
      120_000,
    )
    await page.getByRole('button', { name: 'History', exact: true }).click()
    await page.locator(`[data-testid="history-version"][data-version-id="${versionId}"]`).waitFor({ timeout: 30_000 })

    const totals: number[] = []
    const fetches: number[] = []
    for (let run = 0; run < RUNS; run++) {
      await clickAndWatch(page, versionId, SHAPES)
      const m = (await page.evaluate(() => window.__preview!))!
      const total = m.painted - m.clicked
      const fetched = m.fetched === null ? NaN : m.fetched - m.clicked
      totals.push(total)
      fetches.push(fetched)
      console.log(`  preview #${run + 1}: ${total} ms (records fetched at ${fetched} ms) load ${load()}`)
      await page.getByRole('button', { name: 'Back to now', exact: true }).click()
      await page.getByTestId('history-preview').waitFor({ state: 'detached', timeout: 30_000 })
      await sleep(500)
    }
    console.log(`preview of a ${SHAPES}-shape version: median ${median(totals)} ms (records fetched at ${median(fetches)} ms)`)
    await context.close()
  } finally {
    await browser.close()
    await app.close()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
