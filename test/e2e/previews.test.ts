/**
 * Board previews end to end, in real Chromium against the real server: drawing on a
 * board makes its editor's browser upload a picture of it, which has the drawing in it;
 * board pages carry Open Graph and Twitter cards with the title and that picture, on
 * PUBLIC_URL, at a URL made of the view link; a view page uploads nothing.
 */
import net from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { newRoomId } from '../../lib/roomId'
import { TokenSigner } from '../../server/http/tokens'
import {
  type AppServer,
  drawRectangle,
  ensureProductionBuild,
  foreignRequests,
  hasChromium,
  launchChromium,
  screenshotPages,
  startAppServer,
  waitForEditor,
  openDesktop,
} from './harness'

const AUTH_SECRET = 'e2e-previews-secret-0123456789abc'
const signer = new TokenSigner(AUTH_SECRET)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

/** How many pixels of an image differ clearly from its top-left corner (the background). */
async function inkedPixels(page: Page, url: string): Promise<{ width: number; height: number; inked: number; type: string }> {
  return page.evaluate(async (src) => {
    const res = await fetch(src)
    const blob = await res.blob()
    const image = await createImageBitmap(blob)
    const canvas = document.createElement('canvas')
    canvas.width = image.width
    canvas.height = image.height
    const ctx = canvas.getContext('2d')!
    ctx.drawImage(image, 0, 0)
    const { data } = ctx.getImageData(0, 0, image.width, image.height)
    const [r0, g0, b0] = [data[0]!, data[1]!, data[2]!]
    let inked = 0
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i]! - r0) + Math.abs(data[i + 1]! - g0) + Math.abs(data[i + 2]! - b0) > 60) inked++
    }
    return { width: image.width, height: image.height, inked, type: blob.type }
  }, url)
}

const meta = (html: string, key: string): string | null => {
  const tag = new RegExp(`<meta[^>]+(?:property|name)="${key}"[^>]*>`).exec(html)?.[0]
  return tag ? (/content="([^"]*)"/.exec(tag)?.[1] ?? null) : null
}

describe.skipIf(!hasChromium)('board previews', () => {
  let app: AppServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let publicUrl = ''
  const requests: string[] = []
  const uploads: string[] = []
  const roomId = newRoomId()
  let previewUrl = ''

  beforeAll(async () => {
    const buildMs = ensureProductionBuild()
    if (buildMs) console.log(`e2e: next build took ${(buildMs / 1000).toFixed(1)} s`)
    const port = await freePort()
    // Links name PUBLIC_URL (localhost), while the browser uses 127.0.0.1: the tags must follow PUBLIC_URL.
    publicUrl = `http://localhost:${port}`
    app = await startAppServer({
      PORT: String(port),
      AUTH_SECRET,
      PUBLIC_URL: publicUrl,
      ALLOWED_ORIGINS: `http://127.0.0.1:${port}`,
      VERSION_AFTER_QUIET_MS: '300',
      MAX_CONNECTIONS_PER_MINUTE: '100000',
    })
    browser = await launchChromium()
    ;({ context, page } = await openDesktop(browser, requests))
    context.on('request', (request) => {
      if (request.method() === 'PUT' && request.url().includes('/api/previews')) uploads.push(request.frame().page().url())
    })
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`previews ${ctx.task.name}`, [page])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('[S106] drawing on a board uploads a preview with the drawing in it, at the board view link', async () => {
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    const title = page.getByTestId('board-title')
    await title.click()
    await title.fill('Garden plan')
    await title.press('Enter')
    const uploaded = page.waitForResponse((res) => res.request().method() === 'PUT' && res.url().endsWith('/api/previews'), {
      timeout: 30_000,
    })
    await drawRectangle(page, 400, 300)
    await page.evaluate(() => {
      window.editor!.createShapes([{ type: 'geo', x: 300, y: 0, props: { w: 200, h: 150, fill: 'solid', color: 'blue' } }])
    })
    const res = await uploaded
    expect(res.status()).toBe(200)
    const body = (await res.json()) as { url: string; width: number; height: number }
    previewUrl = body.url
    const view = signer.sign({ roomId, mode: 'view', expiresAt: null })
    expect(previewUrl).toBe(`/api/previews/${view}`)
    expect(body).toMatchObject({ width: 640, height: 400 })

    const picture = await inkedPixels(page, previewUrl)
    expect(picture).toMatchObject({ width: 640, height: 400, type: 'image/webp' })
    // A solid blue 200 × 150 box, fitted into 640 × 400, and the rectangle's outline.
    expect(picture.inked).toBeGreaterThan(5000)
  })

  test('a blank board gets no preview; an empty one says nothing', async () => {
    const other = newRoomId()
    const p = await context.newPage()
    try {
      await p.goto(`${app.origin}/b/${other}`)
      await waitForEditor(p)
      await p.waitForTimeout(3500)
      expect(uploads.filter((u) => u.includes(other))).toEqual([])
    } finally {
      await p.close()
    }
  })

  test('[S107] board pages carry Open Graph and Twitter cards: the title, and the preview on PUBLIC_URL at the view link', async () => {
    const view = signer.sign({ roomId, mode: 'view', expiresAt: null })
    const edit = signer.sign({ roomId, mode: 'edit', expiresAt: Date.now() + 3_600_000 })
    const image = `${publicUrl}/api/previews/${view}`
    // The title reaches the catalog with the board's next version.
    await expect
      .poll(async () => meta(await (await fetch(`${app.origin}/b/${roomId}`)).text(), 'og:title'), { timeout: 20_000 })
      .toBe('Garden plan')
    for (const pagePath of [`/b/${roomId}`, `/v/${view}`, `/e/${edit}`]) {
      const html = await (await fetch(`${app.origin}${pagePath}`)).text()
      expect(meta(html, 'og:title'), pagePath).toBe('Garden plan')
      expect(meta(html, 'og:image'), pagePath).toBe(image)
      expect(meta(html, 'og:image:width'), pagePath).toBe('640')
      expect(meta(html, 'og:image:height'), pagePath).toBe('400')
      expect(meta(html, 'twitter:card'), pagePath).toBe('summary_large_image')
      expect(meta(html, 'twitter:image'), pagePath).toBe(image)
      expect(html).toContain('<title>Garden plan · sketchroom</title>')
      // No card names an edit link: not the room id, not the edit token.
      const tags = [...html.matchAll(/<meta[^>]*>/g)].map((m) => m[0]).join('\n')
      expect(tags).not.toContain(roomId)
      expect(tags).not.toContain(edit)
    }
    // A view page's whole HTML holds nothing that edits.
    const viewHtml = await (await fetch(`${app.origin}/v/${view}`)).text()
    expect(viewHtml).not.toContain(roomId)
    // The card's image is there for whoever has it, an unfurler with no cookie and no header.
    const fetched = await fetch(`${app.origin}/api/previews/${view}`)
    expect(fetched.status).toBe(200)
    expect(fetched.headers.get('content-type')).toBe('image/webp')
  })

  test('a view page never uploads a preview', async () => {
    const view = signer.sign({ roomId, mode: 'view', expiresAt: null })
    const p = await context.newPage()
    try {
      await p.goto(`${app.origin}/v/${view}`)
      await waitForEditor(p)
      await expect.poll(() => p.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('View only')
      await p.waitForTimeout(3500)
      expect(uploads.filter((u) => u.includes('/v/'))).toEqual([])
    } finally {
      await p.close()
    }
  })

  test('no request leaves the app origin', () => {
    expect(foreignRequests(requests, app.origin)).toEqual([])
  })
})
