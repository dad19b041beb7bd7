/**
 * [S113] [S114] in real Chromium: a board open in a page is deleted with `npm run boards`
 * while the server runs; the page says "This board was deleted" (and so does a reload),
 * and after `undelete` a reload shows the board again with its drawing.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { newRoomId } from '../../lib/roomId'
import { type AppServer, drawRectangle, hasChromium, hasShape, screenshotPages, startSuite, waitForEditor } from './harness'

const ROOT = path.resolve(import.meta.dirname, '../..')

function boards(args: string[], dataDir: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/boards.ts'), ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      DATABASE_SCHEMA: '',
      REDIS_URL: '',
      AUTH_SECRET: '',
      BOARD_CHECK_INTERVAL_MS: '500',
    },
    encoding: 'utf8',
  })
  return { code: result.status, out: result.stdout, err: result.stderr }
}

describe.skipIf(!hasChromium)('[S113] [S114] a board deleted while it is open', () => {
  let app: AppServer
  let browser: Browser
  let page: Page
  const roomId = newRoomId()

  beforeAll(async () => {
    ;({ app, browser } = await startSuite({ BOARD_CHECK_INTERVAL_MS: '500', VERSION_AFTER_QUIET_MS: '500' }))
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`deleted ${ctx.task.name}`, [page])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('the open page says the board was deleted, a reload too; undelete brings it back with its drawing', async () => {
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    const shape = await drawRectangle(page, 300, 300)
    // Stored (the command finds a board by its catalog row or its stored log).
    await expect.poll(() => boards(['show', roomId], app.dataDir).code, { timeout: 30_000, interval: 1000 }).toBe(0)

    expect(boards(['delete', roomId], app.dataDir).code).toBe(0)
    const problem = page.getByTestId('link-problem')
    await problem.waitFor({ timeout: 20_000 })
    expect(await problem.locator('h1').textContent()).toBe('This board was deleted')
    await expect.poll(() => page.title()).toBe('Board deleted · sketchroom')
    await page.reload()
    await problem.waitFor({ timeout: 20_000 })
    expect(await problem.locator('h1').textContent()).toBe('This board was deleted')

    expect(boards(['undelete', roomId], app.dataDir).code).toBe(0)
    await page.reload()
    await waitForEditor(page)
    await hasShape(page, shape)
  })
})
