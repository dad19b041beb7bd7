/**
 * Client-side figures, measured in real Chromium against the real server (production build):
 *
 *   open   time from navigating to a board of N shapes until all N are in the editor and
 *          on screen (the first frame after the last shape element exists)
 *   remote time from one client changing M shapes in one batch until another client has
 *          applied all M and painted the next frame
 *
 *   npx tsx bench/client.ts [--shapes 5000] [--batch 1000] [--runs 3]
 *
 * Builds the app first if the build is missing or stale (see test/e2e/harness.ts).
 */
import type { Page } from 'playwright-core'
import { newRoomId } from '../lib/roomId'
import { ensureProductionBuild, launchChromium, startAppServer } from '../test/e2e/harness'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const SHAPES = arg('shapes', 5000)
const BATCH = arg('batch', 1000)
const RUNS = arg('runs', 3)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function openBoard(page: Page, url: string): Promise<void> {
  await page.goto(url)
  await page.waitForFunction(() => Boolean(window.editor), null, { timeout: 120_000 })
}

async function main() {
  const buildMs = ensureProductionBuild()
  if (buildMs) console.log(`(built the app first: ${(buildMs / 1000).toFixed(0)} s)`)
  const app = await startAppServer({ LOG_LEVEL: 'error' })
  const browser = await launchChromium()
  const roomId = newRoomId()
  const boardUrl = `${app.origin}/b/${roomId}`
  try {
    // Seed the board from one client and let the server store it.
    const seeder = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const seedPage = await seeder.newPage()
    await openBoard(seedPage, boardUrl)
    await seedPage.evaluate((n) => {
      const e = window.editor!
      const shapes = Array.from({ length: n }, (_, i) => ({
        type: 'geo' as const,
        x: (i % 100) * 60,
        y: Math.floor(i / 100) * 60,
        props: { w: 50, h: 50 },
      }))
      e.createShapes(shapes)
    }, SHAPES)
    // Give the socket time to flush the whole batch to the server.
    await seedPage.waitForTimeout(3000)

    const openTimes: number[] = []
    for (let run = 0; run < RUNS; run++) {
      // A fresh context each time: empty IndexedDB, so everything comes from the server.
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      const page = await context.newPage()
      const started = Date.now()
      await page.goto(boardUrl)
      await page.waitForFunction(
        (n) => {
          const e = window.editor
          return Boolean(e && e.getCurrentPageShapeIds().size >= n && document.querySelectorAll('.tl-shape').length >= n)
        },
        SHAPES,
        { timeout: 300_000, polling: 'raf' },
      )
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))))
      openTimes.push(Date.now() - started)
      await context.close()
    }

    // Two live clients; the seeder changes BATCH shapes in one batch, the other applies them.
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const viewPage = await viewer.newPage()
    await openBoard(viewPage, boardUrl)
    await viewPage.waitForFunction((n) => window.editor!.getCurrentPageShapeIds().size >= n, SHAPES, { timeout: 300_000 })
    const remoteTimes: number[] = []
    for (let run = 0; run < RUNS; run++) {
      const offset = (run + 1) * 7
      const done = viewPage.evaluate(
        ({ batch, offset }) =>
          new Promise<number>((resolve) => {
            const e = window.editor!
            const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
            const check = () => {
              const moved = ids.every((id) => {
                const s = e.getShape(id)
                return s !== undefined && Math.round(s.rotation * 1000) === offset
              })
              if (moved) requestAnimationFrame(() => resolve(Date.now()))
              else setTimeout(check, 1)
            }
            check()
          }),
        { batch: BATCH, offset },
      )
      const started = await seedPage.evaluate(
        ({ batch, offset }) => {
          const e = window.editor!
          const ids = [...e.getCurrentPageShapeIds()].sort().slice(0, batch)
          const t = Date.now()
          e.run(() => e.updateShapes(ids.map((id) => ({ id, type: 'geo' as const, rotation: offset / 1000 }))))
          return t
        },
        { batch: BATCH, offset },
      )
      remoteTimes.push((await done) - started)
    }

    const row = (name: string, xs: number[]) =>
      `| ${name.padEnd(44)} | ${String(median(xs)).padStart(10)} | ${String(Math.min(...xs)).padStart(7)} | ${String(Math.max(...xs)).padStart(7)} |`
    console.log(`\nsketchroom client (Chromium, production build), ${RUNS} runs each, ms\n`)
    console.log(`| ${'measure'.padEnd(44)} | ${'median'.padStart(10)} | ${'min'.padStart(7)} | ${'max'.padStart(7)} |`)
    console.log(`|${'-'.repeat(46)}|${'-'.repeat(12)}|${'-'.repeat(9)}|${'-'.repeat(9)}|`)
    console.log(row(`open a board of ${SHAPES} shapes → rendered`, openTimes))
    console.log(row(`remote batch of ${BATCH} changed shapes → applied`, remoteTimes))
  } finally {
    await browser.close()
    await app.close()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
