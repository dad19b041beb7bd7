/**
 * People on a board and the Share dialog, in real Chromium against the real server: the
 * first-board name prompt, name and colour when alone, following someone by clicking
 * them (and stopping), and the Share dialog's one embed choice, its preview and its
 * dark theme. Cases run in order on one board.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { newRoomId } from '../../lib/roomId'
import {
  type AppServer,
  ensureProductionBuild,
  foreignRequests,
  hasChromium,
  launchChromium,
  recordRequests,
  screenshotPages,
  startAppServer,
  waitForEditor,
} from './harness'

describe.skipIf(!hasChromium)('people and sharing', () => {
  let app: AppServer
  let browser: Browser
  let aliceContext: BrowserContext
  let alice: Page
  let bob: Page | null = null
  const requests: string[] = []
  const roomId = newRoomId()

  beforeAll(async () => {
    const buildMs = ensureProductionBuild()
    if (buildMs) console.log(`e2e: next build took ${(buildMs / 1000).toFixed(1)} s`)
    app = await startAppServer({ MAX_CONNECTIONS_PER_MINUTE: '100000' })
    browser = await launchChromium()
    aliceContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    recordRequests(aliceContext, requests)
    alice = await aliceContext.newPage()
    alice.on('pageerror', (err) => console.error('[alice] page error:', err.message))
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`people ${ctx.task.name}`, [alice, bob].filter(Boolean) as Page[])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('the first board asks, once and lightly, what to call you', async () => {
    await alice.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(alice)
    const prompt = alice.getByTestId('name-prompt')
    await prompt.waitFor({ timeout: 10_000 })
    // It does not take the keyboard from the board: drawing tools still work meanwhile.
    expect(await alice.evaluate(() => window.editor!.user.getName())).toBe('')
    await alice.getByTestId('name-prompt-input').fill('Alice')
    await alice.getByTestId('name-prompt-input').press('Enter')
    await prompt.waitFor({ state: 'detached' })
    expect(await alice.evaluate(() => window.editor!.user.getName())).toBe('Alice')
    await alice.reload()
    await waitForEditor(alice)
    await alice.waitForTimeout(1000)
    expect(await prompt.count()).toBe(0)
  })

  test('alone on the board, name and colour can be changed from the people menu', async () => {
    await alice.getByTestId('people-menu').click()
    const list = alice.getByTestId('people-list')
    await list.waitFor()
    expect(await list.textContent()).toContain('Nobody else is here right now')
    await list.getByTestId('people-menu.change-name').click()
    await alice.keyboard.press('Control+a')
    await alice.keyboard.type('Alice L.')
    await alice.keyboard.press('Enter')
    await expect.poll(() => alice.evaluate(() => window.editor!.user.getName())).toBe('Alice L.')
    const colorBefore = await alice.evaluate(() => window.editor!.user.getColor())
    // tldraw's colour picker: its trigger, then a colour other than the one tldraw picked at
    // random for this new user (clicking the current one changes nothing, and the picker stays open).
    await list.locator('.tlui-people-menu__user__color').click()
    const picker = alice.locator('.tlui-people-menu__user__color-picker')
    await picker.locator('button').first().waitFor()
    const colors = await picker.locator('button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-id')))
    const other = colors.find((c) => c !== null && c !== colorBefore)!
    await picker.locator(`button[data-id="${other}"]`).click()
    await expect.poll(() => alice.evaluate(() => window.editor!.user.getColor())).toBe(other)
    await alice.keyboard.press('Escape')
    await alice.keyboard.press('Escape')
    expect(await alice.getByTestId('my-avatar').textContent()).toBe('A')
  })

  test('clicking a person follows them, with a plain way to stop', async () => {
    const bobContext = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    recordRequests(bobContext, requests)
    await bobContext.addInitScript(() => localStorage.setItem('sketchroom:asked-name', '1'))
    bob = await bobContext.newPage()
    await bob.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(bob)
    await bob.evaluate(() => window.editor!.user.updateUserPreferences({ name: 'Bob' }))
    await bob.mouse.move(300, 300)
    await bob.mouse.move(320, 330, { steps: 4 })

    await alice.getByTestId('people-menu').click()
    const bobRow = alice.getByTestId('person').filter({ hasText: 'Bob' })
    await bobRow.waitFor({ timeout: 20_000 })
    await bobRow.click()
    const bobId = await bob.evaluate(() => window.editor!.user.getRecordId())
    await expect.poll(() => alice.evaluate(() => window.editor!.getInstanceState().followingUserId)).toBe(bobId)
    await alice.keyboard.press('Escape')
    const banner = alice.getByTestId('following-banner')
    await expect.poll(() => banner.textContent()).toContain('Following Bob')
    // One way to stop, not two: tldraw's own helper button gives way to the banner.
    expect(await alice.getByTestId('helper-buttons.stop-following').count()).toBe(1)
    expect(await alice.getByTestId('helper-buttons.stop-following').isVisible()).toBe(false)

    // Alice now sees what Bob sees: Bob pans, Alice's camera follows.
    await bob.evaluate(() => window.editor!.setCamera({ x: -2000, y: -1500, z: 1 }))
    await expect
      .poll(() => alice.evaluate(() => Math.round(window.editor!.getViewportPageBounds().center.x)), { timeout: 20_000 })
      .toBeGreaterThan(1500)

    await alice.getByTestId('stop-following').click()
    await expect.poll(() => alice.evaluate(() => window.editor!.getInstanceState().followingUserId)).toBeNull()
    await banner.waitFor({ state: 'detached' })
  })

  test('Share dialog: one choice between edit and view, the preview in sight, the theme select dark in dark mode', async () => {
    await alice.evaluate(() => window.editor!.user.updateUserPreferences({ colorScheme: 'dark' }))
    await alice.getByTestId('share').click()
    await alice.getByTestId('share-link-view').waitFor({ timeout: 20_000 })
    expect(await alice.getByText('Read-only', { exact: true }).count()).toBe(0)
    const snippet = alice.getByTestId('share-snippet')
    await alice.getByTestId('embed-view').check()
    await expect.poll(() => snippet.inputValue()).toContain('/embed/v/')
    expect(await snippet.inputValue()).not.toContain(roomId)
    await alice.getByTestId('embed-edit').check()
    await expect.poll(() => snippet.inputValue()).toContain(`/embed/${roomId}`)

    // The preview can be seen whole: scrolled into view, it sits inside the dialog and the window.
    const preview = alice.getByTestId('share-preview')
    await preview.scrollIntoViewIfNeeded()
    const box = (await preview.boundingBox())!
    const dialog = (await alice.locator('.sr-share-dialog').boundingBox())!
    expect(box.y + box.height).toBeLessThanOrEqual(dialog.y + dialog.height + 1)
    expect(box.y + box.height).toBeLessThanOrEqual(800)

    const select = alice.locator('.sr-share-dialog select')
    const colors = await select.evaluate((el) => {
      const style = getComputedStyle(el)
      return { background: style.backgroundColor, scheme: style.colorScheme }
    })
    expect(colors.background).not.toBe('rgb(255, 255, 255)')
    expect(colors.scheme).toBe('dark')
    await alice.getByRole('button', { name: 'Done' }).click()
    await alice.evaluate(() => window.editor!.user.updateUserPreferences({ colorScheme: 'light' }))
  })

  test('no request leaves the app origin', () => {
    expect(requests.length).toBeGreaterThan(10)
    expect(foreignRequests(requests, app.origin)).toEqual([])
  })
})
