/**
 * The home page as a place to work, in real Chromium against the real server: recent
 * boards as cards with their preview, title, when you opened them and who else was there;
 * search by title; on a laptop and on a phone, light and dark.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import {
  type AppServer,
  foreignRequests,
  hasChromium,
  SCREENSHOT_DIR,
  screenshotPages,
  startSuite,
  waitForEditor,
  openDesktop,
  openPhone,
} from './harness'

/** Pixels of a PNG (a screenshot) that differ clearly from its top-left corner, decoded by the page. */
function inkedPixels(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (b64) => {
    const image = new Image()
    image.src = `data:image/png;base64,${b64}`
    await image.decode()
    const canvas = document.createElement('canvas')
    canvas.width = image.naturalWidth
    canvas.height = image.naturalHeight
    const ctx = canvas.getContext('2d')!
    ctx.drawImage(image, 0, 0)
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height)
    let inked = 0
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i]! - data[0]!) + Math.abs(data[i + 1]! - data[1]!) + Math.abs(data[i + 2]! - data[2]!) > 60) inked++
    }
    return inked
  }, png.toString('base64'))
}

describe.skipIf(!hasChromium)('the home page', () => {
  let app: AppServer
  let browser: Browser
  let page: Page
  const requests: string[] = []
  let retro = ''

  beforeAll(async () => {
    ;({ app, browser } = await startSuite())
    ;({ page } = await openDesktop(browser, requests))
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`home ${ctx.task.name}`, [page])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  /** Makes a board from the home page, titles it, draws on it and waits for its preview. */
  async function boardWith(title: string, color: string): Promise<string> {
    await page.goto(app.origin)
    await page.getByTestId('new-board').click()
    await page.waitForURL(/\/b\/[A-Za-z0-9_-]{22}$/)
    await waitForEditor(page)
    const field = page.getByTestId('board-title')
    await field.click()
    await field.fill(title)
    await field.press('Enter')
    const uploaded = page.waitForResponse((res) => res.request().method() === 'PUT' && res.url().endsWith('/api/previews'), {
      timeout: 30_000,
    })
    await page.evaluate((c) => {
      window.editor!.createShapes([
        { type: 'geo', x: 0, y: 0, props: { w: 300, h: 200, fill: 'solid', color: c as never } },
        { type: 'geo', x: 360, y: 80, props: { w: 200, h: 200, geo: 'ellipse', fill: 'solid', color: 'red' } },
      ])
    }, color)
    expect((await uploaded).status()).toBe(200)
    return new URL(page.url()).pathname.split('/')[2]!
  }

  test('boards you opened are cards with their preview, title and when you opened them', async () => {
    await boardWith('Sprint plan', 'green')
    retro = await boardWith('Team retro', 'blue')

    // Someone else joins the retro; leaving the board records them.
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    try {
      const grace = await other.newPage()
      await grace.addInitScript(() => localStorage.setItem('sketchroom:asked-name', '1'))
      await grace.goto(`${app.origin}/b/${retro}`)
      await waitForEditor(grace)
      await grace.evaluate(() => window.editor!.user.updateUserPreferences({ name: 'Grace' }))
      await page.waitForFunction(() => window.editor!.getCollaborators().some((p) => p.userName === 'Grace'), null, { timeout: 20_000 })
    } finally {
      await other.close()
    }

    await page.goto(app.origin)
    const cards = page.getByTestId('recent-boards').locator('li')
    await expect.poll(() => cards.count()).toBe(2)
    const first = cards.nth(0)
    expect(await first.locator('.sr-card__title').textContent()).toBe('Team retro')
    expect(await first.locator('a').getAttribute('href')).toBe(`/b/${retro}`)
    expect(await first.locator('time').textContent()).toBe('just now')
    expect(await first.getByTestId('card-people').textContent()).toBe('with Grace')
    expect(await cards.nth(1).locator('.sr-card__title').textContent()).toBe('Sprint plan')
    expect(await cards.nth(1).getByTestId('card-people').count()).toBe(0)
    // The preview is the board's view-link picture, never its id.
    const src = (await first.getByTestId('card-preview').getAttribute('src'))!
    expect(src).toMatch(/^\/api\/previews\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(src).not.toContain(retro)
    await page.waitForFunction(() => [...document.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0))
  })

  test('a screenshot of a card shows the shapes drawn on its board', async () => {
    const preview = page.getByTestId('recent-boards').locator('li').nth(0).getByTestId('card-preview')
    const shot = await preview.screenshot({ path: `${SCREENSHOT_DIR}/home-card-preview.png` })
    // The blue box and the red ellipse, scaled into the card: thousands of pixels unlike the background.
    expect(await inkedPixels(page, shot)).toBeGreaterThan(3000)
    await page.screenshot({ path: `${SCREENSHOT_DIR}/home-1280.png` })
  })

  test('search by title narrows the cards, and says when nothing matches', async () => {
    const search = page.getByTestId('recent-search')
    const titles = () => page.getByTestId('recent-boards').locator('.sr-card__title').allTextContents()
    await search.fill('retro')
    await expect.poll(titles).toEqual(['Team retro'])
    await search.fill('PLAN')
    await expect.poll(titles).toEqual(['Sprint plan'])
    await search.fill('budget')
    await expect.poll(() => page.getByTestId('recent-none').textContent()).toBe('No recent board has “budget” in its title.')
    await search.fill('')
    await expect.poll(titles).toEqual(['Team retro', 'Sprint plan'])
  })

  test('on a phone (390 × 844) the cards stack in one column and nothing overflows', async () => {
    const { context: phone, page: p } = await openPhone(browser)
    try {
      await p.goto(app.origin)
      // This context has its own storage: give it the same list.
      const list = await page.evaluate(() => localStorage.getItem('sketchroom:recent-boards'))
      await p.evaluate((value) => localStorage.setItem('sketchroom:recent-boards', value!), list)
      await p.reload()
      const cards = p.getByTestId('recent-boards').locator('li')
      await expect.poll(() => cards.count()).toBe(2)
      const boxes = await Promise.all([0, 1].map((i) => cards.nth(i).boundingBox()))
      expect(boxes[0]!.x).toBe(boxes[1]!.x)
      expect(boxes[1]!.y).toBeGreaterThan(boxes[0]!.y + boxes[0]!.height - 1)
      expect(boxes[0]!.width).toBeLessThanOrEqual(390)
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      for (const id of ['new-board', 'open-file', 'recent-search']) expect(await p.getByTestId(id).isVisible()).toBe(true)
      await p.waitForFunction(() => [...document.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0))
      await p.screenshot({ path: `${SCREENSHOT_DIR}/home-390.png`, fullPage: true })
    } finally {
      await phone.close()
    }
  })

  test('in dark mode the page and its cards are dark, the previews still show the boards', async () => {
    const dark = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' })
    try {
      const p = await dark.newPage()
      await p.goto(app.origin)
      const list = await page.evaluate(() => localStorage.getItem('sketchroom:recent-boards'))
      await p.evaluate((value) => localStorage.setItem('sketchroom:recent-boards', value!), list)
      await p.reload()
      const card = p.getByTestId('recent-boards').locator('li').nth(0)
      await card.waitFor()
      expect(await p.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(29, 29, 31)')
      expect(await card.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(38, 38, 42)')
      expect(await card.locator('.sr-card__title').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(232, 232, 232)')
      await p.waitForFunction(() => [...document.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0))
      expect(await inkedPixels(p, await card.getByTestId('card-preview').screenshot())).toBeGreaterThan(3000)
      await p.screenshot({ path: `${SCREENSHOT_DIR}/home-dark.png` })
    } finally {
      await dark.close()
    }
  })

  test('a board without a preview yet shows a placeholder, not a broken image', async () => {
    const list = JSON.parse((await page.evaluate(() => localStorage.getItem('sketchroom:recent-boards')))!) as Array<
      Record<string, unknown>
    >
    // A view link whose board has no preview: its preview URL answers 404.
    list.push({ id: `${'a'.repeat(40)}.${'B'.repeat(43)}`, kind: 'view', title: 'Old board', lastOpened: Date.now() - 3 * 86_400_000 })
    await page.evaluate((value) => localStorage.setItem('sketchroom:recent-boards', value), JSON.stringify(list))
    await page.reload()
    const card = page.getByTestId('recent-boards').locator('li').nth(2)
    await expect.poll(() => card.locator('.sr-card__title').textContent()).toBe('Old board')
    await expect.poll(() => card.locator('.sr-card__preview--none').count(), { timeout: 10_000 }).toBe(1)
    expect(await card.locator('time').textContent()).toBe('3 days ago')
    expect(await card.locator('.sr-badge').textContent()).toBe('View only')
  })

  test('no request leaves the app origin', () => {
    expect(foreignRequests(requests, app.origin)).toEqual([])
  })
})
