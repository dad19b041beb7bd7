/**
 * Sharing and embedding, in real Chromium against the real server. A page served from
 * another origin (a second local port) frames an edit board and a view-only board; the
 * app's own board page must refuse to be framed there. The cases run in order on one
 * board, as one session would.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core'
import { newRoomId } from '../../lib/roomId'
import { TokenSigner } from '../../server/http/tokens'
import { type AppServer, drawRectangle, hasChromium, hasShape, screenshotPages, shapeIds, startSuite, waitForEditor } from './harness'

const AUTH_SECRET = 'e2e-embed-secret-0123456789abcdef'

/** A page on another origin that frames what it is given: the "someone else's site". */
async function startHostSite(frames: Record<string, string>): Promise<{ origin: string; close(): Promise<void> }> {
  const html = `<!doctype html><html><head><title>Someone else's page</title></head><body>
<h1>Our team notes</h1>
${Object.entries(frames)
  .map(([id, src]) => `<iframe id="${id}" src="${src}" width="640" height="420" style="border:1px solid #ccc"></iframe>`)
  .join('\n')}
</body></html>`
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(html)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe.skipIf(!hasChromium)('share and embed', () => {
  let app: AppServer
  let browser: Browser
  let ownerContext: BrowserContext
  let owner: Page
  let visitorContext: BrowserContext
  let host: Page
  let hostSite: { origin: string; close(): Promise<void> } | null = null
  const hostConsole: string[] = []
  const roomId = newRoomId()
  let viewUrl = ''

  const frameFor = (iframeId: string): Promise<Frame> =>
    host
      .locator(`#${iframeId}`)
      .elementHandle()
      .then(async (handle) => {
        const frame = await handle!.contentFrame()
        if (!frame) throw new Error(`no frame in #${iframeId}`)
        return frame
      })

  beforeAll(async () => {
    ;({ app, browser } = await startSuite({ AUTH_SECRET }))
    ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await ownerContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.origin })
    owner = await ownerContext.newPage()
    owner.on('pageerror', (err) => console.error('[owner] page error:', err.message))
    await owner.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(owner)
    await owner.evaluate(() => window.editor!.user.updateUserPreferences({ name: 'Owner' }))
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`embed ${ctx.task.name}`, [owner, host].filter(Boolean))
  })

  afterAll(async () => {
    await browser?.close()
    await hostSite?.close()
    await app?.close()
  })

  test('the Share dialog gives an edit link, a view-only link and an iframe snippet with a live preview', async () => {
    await owner.getByTestId('share').click()
    const edit = owner.getByTestId('share-link-edit')
    await expect.poll(() => edit.inputValue()).toBe(`${app.origin}/b/${roomId}`)
    const view = owner.getByTestId('share-link-view')
    await view.waitFor({ timeout: 20_000 })
    viewUrl = await view.inputValue()
    expect(viewUrl).toMatch(new RegExp(`^${app.origin}/v/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`))
    // The room id is the edit capability: the view link must not carry it.
    expect(viewUrl).not.toContain(roomId)

    await owner.getByTestId('share-copy-view').click()
    await expect.poll(() => owner.locator('.tlui-toast__container').textContent(), { timeout: 10_000 }).toContain('View-only link copied')
    expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(viewUrl)

    // Snippet for the view-only link, and the preview showing that very board.
    await owner.getByTestId('embed-view').check()
    const snippet = await owner.getByTestId('share-snippet').inputValue()
    const token = viewUrl.split('/v/')[1]!
    expect(snippet).toMatch(/^<iframe src="[^"]+"/)
    expect(snippet).toContain(`${app.origin}/embed/v/${token}`)
    const previewSrc = await owner.getByTestId('share-preview').getAttribute('src')
    expect(snippet).toContain(`src="${previewSrc!.replace(/&/g, '&amp;')}"`)
    const preview = await (await owner.getByTestId('share-preview').elementHandle())!.contentFrame()
    await waitForEditor(preview!)
    expect(await preview!.evaluate(() => window.editor!.getIsReadonly())).toBe(true)

    // And for the edit link.
    await owner.getByTestId('embed-edit').check()
    expect(await owner.getByTestId('share-snippet').inputValue()).toContain(`${app.origin}/embed/${roomId}`)
    await owner.getByRole('button', { name: 'Done' }).click()
    await owner.getByTestId('share-snippet').waitFor({ state: 'detached', timeout: 10_000 })
  })

  test('board and view pages carry an oEmbed discovery link that the server answers', async () => {
    for (const [page, embed] of [
      [`${app.origin}/b/${roomId}`, `/embed/${roomId}`],
      [viewUrl, `/embed/v/${viewUrl.split('/v/')[1]}`],
    ] as const) {
      const html = await (await fetch(page)).text()
      const tag = /<link[^>]+type="application\/json\+oembed"[^>]*>/.exec(html)?.[0]
      expect(tag, `discovery link on ${page}`).toBeDefined()
      const href = /href="([^"]+)"/.exec(tag!)![1]!.replace(/&amp;/g, '&')
      expect(new URL(href).searchParams.get('url')).toBe(page)
      const res = await fetch(href)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { type: string; html: string }
      expect(body.type).toBe('rich')
      expect(body.html).toContain(`${app.origin}${embed}"`)
    }
  })

  test('a page on another origin embeds the edit board and the view-only board, live', async () => {
    const token = viewUrl.split('/v/')[1]!
    hostSite = await startHostSite({
      edit: `${app.origin}/embed/${roomId}`,
      view: `${app.origin}/embed/v/${token}`,
      app: `${app.origin}/b/${roomId}`,
    })
    visitorContext = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    host = await visitorContext.newPage()
    host.on('console', (msg) => hostConsole.push(msg.text()))
    host.on('pageerror', (err) => console.error('[host] page error:', err.message))
    await host.goto(hostSite.origin)
    const [edit, view] = await Promise.all([frameFor('edit'), frameFor('view')])
    await Promise.all([waitForEditor(edit), waitForEditor(view)])
    expect(await edit.evaluate(() => window.editor!.getIsReadonly())).toBe(false)
    expect(await view.evaluate(() => window.editor!.getIsReadonly())).toBe(true)

    const id = await drawRectangle(owner, 300, 250)
    await Promise.all([hasShape(edit, id), hasShape(view, id)])
  })

  test('a shape drawn in the editable iframe reaches the main board and the view-only iframe', async () => {
    const edit = await frameFor('edit')
    const view = await frameFor('view')
    const box = (await host.locator('#edit').boundingBox())!
    const before = new Set(await shapeIds(edit))
    // An embed does not take the focus by itself: a click on empty canvas gives it.
    await host.mouse.click(box.x + 100, box.y + 150)
    await host.keyboard.press('Escape')
    await host.keyboard.press('r')
    await host.mouse.move(box.x + 200, box.y + 200)
    await host.mouse.down()
    await host.mouse.move(box.x + 260, box.y + 240, { steps: 4 })
    await host.mouse.move(box.x + 320, box.y + 280, { steps: 4 })
    await host.mouse.up()
    await host.keyboard.press('Escape')
    const added = (await shapeIds(edit)).filter((s) => !before.has(s))
    expect(added).toHaveLength(1)
    await Promise.all([hasShape(owner, added[0]!), hasShape(view, added[0]!)])
  })

  test('drawing or deleting inside the view-only iframe changes nothing anywhere', async () => {
    const edit = await frameFor('edit')
    const view = await frameFor('view')
    const before = await shapeIds(owner)
    expect(before.length).toBeGreaterThanOrEqual(2)
    expect(await shapeIds(view)).toEqual(before)

    const box = (await host.locator('#view').boundingBox())!
    await host.mouse.click(box.x + 100, box.y + 150)
    // It has the keyboard, so the shortcuts below do reach it.
    expect(await view.evaluate(() => window.editor!.getIsFocused())).toBe(true)
    // The rectangle and draw tools, then a drag: a read-only editor must ignore them.
    for (const key of ['r', 'd']) {
      await host.keyboard.press(key)
      await host.mouse.move(box.x + 150, box.y + 150)
      await host.mouse.down()
      await host.mouse.move(box.x + 250, box.y + 220, { steps: 6 })
      await host.mouse.up()
    }
    // Select everything and delete it.
    await host.keyboard.press('Control+a')
    await host.keyboard.press('Delete')
    await host.keyboard.press('Backspace')
    expect(await shapeIds(view)).toEqual(before)

    // A barrier: once this later shape has reached every board, anything the view-only
    // iframe had sent would have too.
    const marker = await drawRectangle(owner, 800, 500)
    await Promise.all([hasShape(edit, marker), hasShape(view, marker)])
    const after = [...before, marker].sort()
    expect(await shapeIds(owner)).toEqual(after)
    expect(await shapeIds(edit)).toEqual(after)
    expect(await shapeIds(view)).toEqual(after)
  })

  test("the view-only iframe shows the owner's cursor", async () => {
    const view = await frameFor('view')
    await owner.mouse.move(600, 400)
    await owner.mouse.move(620, 420, { steps: 5 })
    await view.waitForFunction(() => window.editor!.getCollaborators().some((c) => c.userName === 'Owner' && c.cursor !== null), null, {
      timeout: 20_000,
    })
  })

  test("the app's own board page refuses to be framed by another origin", async () => {
    const boardRes = await fetch(`${app.origin}/b/${roomId}`)
    expect(boardRes.headers.get('content-security-policy')).toMatch(/frame-ancestors 'self'/)
    const embedRes = await fetch(`${app.origin}/embed/${roomId}`)
    expect(embedRes.headers.get('content-security-policy')).toMatch(/frame-ancestors \*/)

    // The browser blocked it: Chromium says so, and the frame never got the app's document.
    await expect.poll(() => hostConsole.some((line) => line.includes("frame-ancestors 'self'")), { timeout: 10_000 }).toBe(true)
    const frame = await frameFor('app')
    // Chromium swaps a refused frame for its error page; the board never runs in it.
    expect(frame.url()).toMatch(/^chrome-error:/)
    const booted = await frame
      .waitForFunction(() => 'editor' in window, null, { timeout: 3_000 })
      .then(
        () => true,
        () => false,
      )
    expect(booted).toBe(false)
  })

  test('embed options: canvas only, dark theme, zoomed to fit', async () => {
    const page = await visitorContext.newPage()
    try {
      await page.setViewportSize({ width: 400, height: 300 })
      await page.goto(`${app.origin}/embed/${roomId}?ui=0&theme=dark&zoom=fit&readonly=1`)
      await waitForEditor(page)
      await page.locator('.tl-canvas').waitFor()
      expect(await page.locator('.tlui-layout').count()).toBe(0)
      expect(await page.evaluate(() => window.editor!.user.getIsDarkMode())).toBe(true)
      expect(await page.evaluate(() => window.editor!.getIsReadonly())).toBe(true)
      await page.waitForFunction(() => {
        const e = window.editor!
        const content = e.getCurrentPageBounds()
        return Boolean(content && e.getViewportPageBounds().contains(content))
      })
    } finally {
      await page.close()
    }
  })

  test('a view-only page is read-only with the title not editable; expired and forged links get a clear page', async () => {
    const signer = new TokenSigner(AUTH_SECRET)
    const page = await visitorContext.newPage()
    try {
      await page.goto(viewUrl)
      await waitForEditor(page)
      expect(await page.evaluate(() => window.editor!.getIsReadonly())).toBe(true)
      expect(await page.getByTestId('board-title').evaluate((el) => el.tagName)).not.toBe('INPUT')

      const expired = signer.sign({ roomId, mode: 'view', expiresAt: Date.now() - 1000 })
      await page.goto(`${app.origin}/v/${expired}`)
      await expect.poll(() => page.getByTestId('link-problem').textContent(), { timeout: 20_000 }).toMatch(/expired/i)

      const forged = `${expired.split('.')[0]}.${'A'.repeat(43)}`
      await page.goto(`${app.origin}/v/${forged}`)
      await expect.poll(() => page.getByTestId('link-problem').textContent(), { timeout: 20_000 }).toMatch(/not valid|does not work/i)

      // An expiring edit link opens an editable board.
      const editToken = signer.sign({ roomId, mode: 'edit', expiresAt: Date.now() + 3_600_000 })
      await page.goto(`${app.origin}/e/${editToken}`)
      await waitForEditor(page)
      expect(await page.evaluate(() => window.editor!.getIsReadonly())).toBe(false)
      await hasShape(page, (await shapeIds(owner))[0]!)
    } finally {
      await page.close()
    }
  })

  test('Reset links: the open view page says its link was reset, so does a reload, and the dialog shows a new view link that works', async () => {
    const page = await visitorContext.newPage()
    try {
      await page.goto(viewUrl)
      await waitForEditor(page)
      await owner.getByTestId('share').click()
      const view = owner.getByTestId('share-link-view')
      await expect.poll(() => view.inputValue(), { timeout: 20_000 }).toBe(viewUrl)
      await owner.getByRole('button', { name: 'Reset links…' }).click()
      // Asks once before anything happens.
      await owner.getByRole('group', { name: 'Confirm resetting the links' }).waitFor()
      await owner.getByRole('button', { name: 'Reset links', exact: true }).click()
      await expect.poll(() => view.inputValue(), { timeout: 20_000 }).not.toBe(viewUrl)
      const newViewUrl = await view.inputValue()
      expect(newViewUrl).toMatch(new RegExp(`^${app.origin}/v/`))
      expect(newViewUrl).not.toContain(roomId)
      await expect.poll(() => owner.locator('.tlui-toast__container').textContent(), { timeout: 10_000 }).toContain('Links reset')
      // The live view page is disconnected and says why, in words.
      await expect.poll(() => page.getByTestId('link-problem').textContent(), { timeout: 20_000 }).toMatch(/This link was reset/)
      await page.reload()
      await expect.poll(() => page.getByTestId('link-problem').textContent(), { timeout: 20_000 }).toMatch(/This link was reset/)
      await expect.poll(() => page.title()).toMatch(/Link reset/)
      // The new link opens the board; the owner's own page (the room id) never noticed.
      await page.goto(newViewUrl)
      await waitForEditor(page)
      await hasShape(page, (await shapeIds(owner))[0]!)
      expect(await owner.evaluate(() => window.editor!.getIsReadonly())).toBe(false)
      await owner.getByRole('button', { name: 'Done' }).click()
    } finally {
      await page.close()
    }
  })
})
