/**
 * History in the browser (issue 13): Ada draws, a version is kept, she deletes everything;
 * Bob opens History, previews the earlier version (the live board untouched underneath),
 * restores it for everyone; Ada is told who did it, Bob is not; Bob's undo cannot take it
 * back. View-only links have no History; the phone's top bar still fits.
 * Real Chromium against the real server, with versions after half a second of quiet.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { newRoomId } from '../../lib/roomId'
import {
  type AppServer,
  drawRectangle,
  foreignRequests,
  hasChromium,
  hasShape,
  recordRequests,
  SCREENSHOT_DIR,
  screenshotPages,
  shapeIds,
  startSuite,
  waitForEditor,
  openPhone,
} from './harness'

interface Person {
  name: string
  context: BrowserContext
  page: Page
}

interface VersionJson {
  id: string
  createdAt: number
  reason: string
  name?: string
  shapes: number
}

const RESTORED_TOAST = /restored the version of/

describe.skipIf(!hasChromium)('board history in two browsers', () => {
  let app: AppServer
  let browser: Browser
  const requests: string[] = []
  let ada: Person
  let bob: Person
  const roomId = newRoomId()
  let original: string[] = []

  const versions = async (): Promise<VersionJson[]> =>
    ((await (await fetch(`${app.origin}/api/boards/${roomId}/versions`)).json()) as { versions: VersionJson[] }).versions

  /** Shapes drawn on a page's canvas: what the person sees, live board or preview. */
  const shapesIn = (page: Page, selector: string) => page.locator(`${selector} .tl-shape`).count()
  const liveCanvas = '.sr-board > .tl-container .tl-canvas'
  const previewCanvas = '[data-testid="history-preview"] .tl-canvas'

  async function join(name: string): Promise<Person> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    recordRequests(context, requests)
    const page = await context.newPage()
    page.on('pageerror', (err) => console.error(`[${name}] page error:`, err.message))
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    await page.evaluate((n) => window.editor!.user.updateUserPreferences({ name: n }), name)
    return { name, context, page }
  }

  beforeAll(async () => {
    ;({ app, browser } = await startSuite({ VERSION_AFTER_QUIET_MS: '500' }))
    ada = await join('Ada')
    bob = await join('Bob')
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(ctx.task.name, [ada?.page, bob?.page].filter(Boolean) as Page[])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('Ada draws, a version is kept, she deletes everything', async () => {
    const first = await drawRectangle(ada.page, 300, 250)
    const second = await drawRectangle(ada.page, 500, 400)
    original = [first, second].sort()
    await hasShape(bob.page, second)
    await expect.poll(async () => (await versions()).some((v) => v.shapes === 2), { timeout: 20_000 }).toBe(true)
    await ada.page.locator('.tl-canvas').click({ position: { x: 900, y: 150 } })
    await ada.page.keyboard.press('Control+a')
    await ada.page.keyboard.press('Delete')
    await expect.poll(() => shapeIds(bob.page), { timeout: 20_000 }).toEqual([])
    await expect.poll(() => shapeIds(ada.page)).toEqual([])
  })

  test('Bob previews the earlier version: the preview shows its shapes, the live board stays as it is and keeps changing', async () => {
    await bob.page.getByRole('button', { name: 'History', exact: true }).click()
    const panel = bob.page.getByTestId('history-panel')
    await panel.waitFor({ timeout: 10_000 })
    const row = panel.getByTestId('history-version').filter({ hasText: '2 shapes' }).first()
    await row.waitFor({ timeout: 20_000 })
    await expect.poll(() => row.textContent()).toMatch(/^\d\d:\d\d/)
    // Named by what people called themselves, labelled as such.
    expect(await row.textContent()).toContain('Self-chosen names: Ada')
    await row.click()
    const banner = bob.page.getByTestId('history-banner')
    await banner.waitFor({ timeout: 20_000 })
    // It says "Opening the version of …" until the version has loaded.
    await expect.poll(() => banner.textContent(), { timeout: 20_000 }).toMatch(/^Viewing \d\d:\d\d/)
    await expect.poll(() => shapesIn(bob.page, previewCanvas), { timeout: 10_000 }).toBe(2)
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
    await bob.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'history-preview.png') })
    // The live board, and its store, have none: the preview is a store of its own.
    expect(await shapeIds(bob.page)).toEqual([])
    expect(await shapeIds(ada.page)).toEqual([])
    // Ada draws meanwhile: it reaches Bob's live board underneath, not the preview.
    const meanwhile = await drawRectangle(ada.page, 700, 300)
    await hasShape(bob.page, meanwhile)
    expect(await shapesIn(bob.page, previewCanvas)).toBe(2)
    // Keys pressed over the preview reach neither it (read-only) nor the live board.
    await bob.page.locator(previewCanvas).click({ position: { x: 200, y: 700 } })
    await bob.page.keyboard.press('Control+a')
    await bob.page.keyboard.press('Delete')
    await bob.page.waitForTimeout(500)
    expect(await shapesIn(bob.page, previewCanvas)).toBe(2)
    expect(await shapeIds(bob.page)).toEqual([meanwhile])
    expect(await shapeIds(ada.page)).toEqual([meanwhile])

    await bob.page.getByRole('button', { name: 'Back to now', exact: true }).click()
    await expect.poll(() => bob.page.getByTestId('history-preview').count()).toBe(0)
    await expect.poll(() => shapesIn(bob.page, liveCanvas)).toBe(1)
    expect(await shapeIds(bob.page)).toEqual([meanwhile])
  })

  test('Bob restores it (asked once): both see the shapes again; Ada is told who did it, Bob is not', async () => {
    const panel = bob.page.getByTestId('history-panel')
    await panel.getByTestId('history-version').filter({ hasText: '2 shapes' }).first().click()
    await bob.page.getByTestId('history-banner').waitFor({ timeout: 20_000 })
    await bob.page.getByRole('button', { name: 'Restore', exact: true }).click()
    // One confirming step, then the server does it.
    expect(await shapeIds(ada.page)).not.toEqual(original)
    await bob.page.getByRole('button', { name: 'Restore for everyone', exact: true }).click()
    await expect.poll(() => shapeIds(ada.page), { timeout: 20_000 }).toEqual(original)
    await expect.poll(() => shapeIds(bob.page), { timeout: 20_000 }).toEqual(original)
    await expect.poll(() => bob.page.getByTestId('history-preview').count()).toBe(0)
    await expect.poll(() => shapesIn(bob.page, liveCanvas)).toBe(2)

    const toast = ada.page.locator('.tlui-toast__title').filter({ hasText: /^Bob restored the version of \d\d:\d\d$/ })
    await toast.waitFor({ timeout: 20_000 })
    // Bob hears the same announcement (the server sends it to everyone) and shows nothing.
    await bob.page.waitForTimeout(1000)
    expect(await bob.page.locator('.tlui-toast__title').filter({ hasText: RESTORED_TOAST }).count()).toBe(0)
    // The list has the restore on top (the board as it was just before is the version under
    // it: a "before a restore" one, or the quiet one taken after Ada's last change).
    await expect
      .poll(async () => (await panel.getByTestId('history-version').allTextContents())[0], { timeout: 20_000 })
      .toMatch(/^\d\d:\d\drestored2 shapes/)
  })

  test("Bob's undo does not take the restore back, for him or for Ada", async () => {
    await bob.page.locator(liveCanvas).click({ position: { x: 200, y: 700 } })
    for (let i = 0; i < 3; i++) await bob.page.keyboard.press('Control+z')
    await bob.page.evaluate(() => {
      for (let i = 0; i < 5; i++) window.editor!.undo()
    })
    await bob.page.waitForTimeout(1000)
    expect(await shapeIds(bob.page)).toEqual(original)
    expect(await shapeIds(ada.page)).toEqual(original)
  })

  test('"Name this version" keeps a named version, which stands out in the list', async () => {
    const panel = bob.page.getByTestId('history-panel')
    await panel.getByLabel('Version name').fill('Kick-off')
    await panel.getByRole('button', { name: 'Name this version', exact: true }).click()
    const named = panel.locator('.sr-version--named')
    await named.first().waitFor({ timeout: 20_000 })
    expect(await named.first().textContent()).toContain('Kick-off')
    expect((await versions()).find((v) => v.name === 'Kick-off')?.reason).toBe('named')
  })

  test('a view-only link has no History button', async () => {
    const res = await fetch(`${app.origin}/api/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roomId }),
    })
    const { view } = (await res.json()) as { view: string }
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    recordRequests(context, requests)
    try {
      const page = await context.newPage()
      await page.goto(new URL(view, app.origin).href)
      await waitForEditor(page)
      await page.getByTestId('share').waitFor({ timeout: 20_000 })
      expect(await page.getByRole('button', { name: 'History', exact: true }).count()).toBe(0)
      // The edit page has one, so the check above can fail.
      expect(await bob.page.getByRole('button', { name: 'History', exact: true }).count()).toBe(1)
    } finally {
      await context.close()
    }
  })

  test('on a phone (390×844, touch) the top bar still fits with History, and History opens by a tap', async () => {
    const { context: phone, page: p } = await openPhone(browser, requests)
    try {
      await p.goto(`${app.origin}/b/${roomId}`)
      await waitForEditor(p)
      await p.getByTestId('board-title').fill('A title long enough to push everything else off a phone screen')
      await p.getByTestId('board-title').press('Enter')
      await p.waitForTimeout(300)
      for (const id of ['history', 'share', 'people-menu', 'connection', 'board-title']) {
        const box = await p.getByTestId(id).boundingBox()
        expect(box, id).not.toBeNull()
        expect(box!.x, id).toBeGreaterThanOrEqual(0)
        expect(box!.x + box!.width, id).toBeLessThanOrEqual(390)
        expect(box!.y + box!.height, id).toBeLessThanOrEqual(60)
      }
      fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
      await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'mobile-top-bar-history.png'), clip: { x: 0, y: 0, width: 390, height: 120 } })
      await p.getByRole('button', { name: 'History', exact: true }).tap()
      const panel = p.getByTestId('history-panel')
      await panel.getByTestId('history-version').first().waitFor({ timeout: 20_000 })
      const box = await panel.boundingBox()
      expect(box!.x).toBeGreaterThanOrEqual(0)
      expect(box!.x + box!.width).toBeLessThanOrEqual(390)
      await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'mobile-history-panel.png') })
    } finally {
      await phone.close()
    }
  })

  test('no request leaves the app origin', () => {
    expect(requests.length).toBeGreaterThan(10)
    expect(foreignRequests(requests, app.origin)).toEqual([])
  })
})
