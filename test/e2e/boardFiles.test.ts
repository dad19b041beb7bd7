/**
 * Boards as files, in real Chromium against the real server: the Export menu's PDF (one
 * page per frame) and "Download board (.tldr)", and the home page's "Open a file", which
 * turns that file back into a new board that the server stores.
 */
import fs from 'node:fs'
import { PDFDocument } from 'pdf-lib'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { newRoomId } from '../../lib/roomId'
import { type AppServer, foreignRequests, hasChromium, hasShape, screenshotPages, startSuite, waitForEditor, openDesktop } from './harness'

interface TldrFile {
  tldrawFileFormatVersion: number
  schema: unknown
  records: Array<{ id: string; typeName: string; type?: string; parentId?: string; name?: string; props?: Record<string, unknown> }>
}

describe.skipIf(!hasChromium)('boards as files', () => {
  let app: AppServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const requests: string[] = []
  const roomId = newRoomId()
  let tldrPath = ''
  let original: TldrFile['records'] = []

  beforeAll(async () => {
    ;({ app, browser } = await startSuite())
    ;({ context, page } = await openDesktop(browser, requests, { acceptDownloads: true }))
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`board-files ${ctx.task.name}`, [page])
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  const openExportMenu = async () => {
    await page.keyboard.press('Escape')
    await page.getByTestId('main-menu.button').click()
    await page.getByTestId('main-menu-sub.export-all-as-button').click()
  }
  const download = async (testId: string) => {
    const [file] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByTestId(testId).click()])
    const saved = await file.path()
    return { name: file.suggestedFilename(), path: saved }
  }

  test('a board with two frames and an image', async () => {
    await page.goto(`${app.origin}/b/${roomId}`)
    await waitForEditor(page)
    const title = page.getByTestId('board-title')
    await title.click()
    await title.fill('Quarterly deck')
    await title.press('Enter')
    // An image of the board's own (uploaded like a pasted one), to see it survive the file.
    await page.evaluate(async (board) => {
      const canvas = document.createElement('canvas')
      canvas.width = 8
      canvas.height = 8
      const ctx = canvas.getContext('2d')!
      ctx.fillStyle = '#e33'
      ctx.fillRect(0, 0, 8, 8)
      const png = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'))
      const res = await fetch('/api/assets', {
        method: 'POST',
        body: png,
        headers: { 'x-sketchroom-board': board, 'content-type': 'image/png' },
      })
      const { url } = (await res.json()) as { url: string }
      const editor = window.editor!
      editor.createAssets([
        {
          id: 'asset:dot' as never,
          typeName: 'asset',
          type: 'image',
          props: { src: url, w: 8, h: 8, name: 'dot.png', isAnimated: false, mimeType: 'image/png' },
          meta: {},
        },
      ])
      editor.createShapes([
        { id: 'shape:slide1' as never, type: 'frame', x: 0, y: 0, props: { w: 400, h: 300, name: 'One' } },
        { id: 'shape:slide2' as never, type: 'frame', x: 500, y: 0, props: { w: 320, h: 240, name: 'Two' } },
      ])
      editor.createShapes([
        {
          id: 'shape:box1' as never,
          type: 'geo',
          parentId: 'shape:slide1' as never,
          x: 40,
          y: 40,
          props: { w: 120, h: 80, geo: 'rectangle' },
        },
        {
          id: 'shape:dot' as never,
          type: 'image',
          parentId: 'shape:slide2' as never,
          x: 20,
          y: 20,
          props: { w: 64, h: 64, assetId: 'asset:dot' as never },
        },
      ])
    }, roomId)
    await hasShape(page, 'shape:dot')
  })

  test('Export → PDF: one PDF page per frame, in frame order, named after the title', async () => {
    await openExportMenu()
    const pdf = await download('main-menu.sketchroom-export-pdf')
    expect(pdf.name).toBe('Quarterly deck.pdf')
    const doc = await PDFDocument.load(fs.readFileSync(pdf.path))
    expect(doc.getPageCount()).toBe(2)
    expect(doc.getTitle()).toBe('Quarterly deck')
    // Each page is its frame: the first 400 × 300, the second 320 × 240 (in points).
    const sizes = doc.getPages().map((p) => p.getSize())
    expect(sizes[0]!.width / sizes[0]!.height).toBeCloseTo(400 / 300, 1)
    expect(sizes[1]!.width / sizes[1]!.height).toBeCloseTo(320 / 240, 1)
    expect(sizes[0]!.width).toBeGreaterThan(sizes[1]!.width)
  })

  test('Export → PDF of a page without frames is the page on one PDF page', async () => {
    const other = newRoomId()
    const p = await context.newPage()
    try {
      await p.goto(`${app.origin}/b/${other}`)
      await waitForEditor(p)
      await p.evaluate(() => {
        window.editor!.createShapes([
          { type: 'geo', x: 0, y: 0, props: { w: 100, h: 100 } },
          { type: 'geo', x: 300, y: 200, props: { w: 100, h: 100 } },
        ])
      })
      await p.keyboard.press('Escape')
      await p.getByTestId('main-menu.button').click()
      await p.getByTestId('main-menu-sub.export-all-as-button').click()
      const [file] = await Promise.all([
        p.waitForEvent('download', { timeout: 30_000 }),
        p.getByTestId('main-menu.sketchroom-export-pdf').click(),
      ])
      expect(file.suggestedFilename()).toBe('Untitled board.pdf')
      const doc = await PDFDocument.load(fs.readFileSync(await file.path()))
      expect(doc.getPageCount()).toBe(1)
    } finally {
      await p.close()
    }
  })

  test('Export → Download board (.tldr): a tldraw file with every shape, the image inlined, the title as its name', async () => {
    await openExportMenu()
    const file = await download('main-menu.sketchroom-download-board')
    expect(file.name).toBe('Quarterly deck.tldr')
    tldrPath = file.path
    const parsed = JSON.parse(fs.readFileSync(file.path, 'utf8')) as TldrFile
    expect(parsed.tldrawFileFormatVersion).toBeGreaterThan(0)
    original = parsed.records
    const shapes = parsed.records.filter((r) => r.typeName === 'shape')
    expect(shapes.map((s) => s.id).sort()).toEqual(['shape:box1', 'shape:dot', 'shape:slide1', 'shape:slide2'])
    expect(shapes.find((s) => s.id === 'shape:box1')!.parentId).toBe('shape:slide1')
    const asset = parsed.records.find((r) => r.id === 'asset:dot')!
    expect(String(asset.props!.src)).toMatch(/^data:image\/png;base64,/)
    expect(parsed.records.find((r) => r.id === 'document:document')!.name).toBe('Quarterly deck')
  })

  test('Open a file on the home page makes a new board with the same content, stored by the server', async () => {
    await page.goto(app.origin)
    await page.getByTestId('open-file-input').setInputFiles(tldrPath)
    await page.waitForURL((url) => /^\/b\/[A-Za-z0-9_-]{22}$/.test(url.pathname) && !url.pathname.endsWith(roomId), { timeout: 30_000 })
    const newRoom = new URL(page.url()).pathname.split('/')[2]!
    await waitForEditor(page)
    await hasShape(page, 'shape:dot')
    await expect.poll(() => page.getByTestId('board-title').inputValue(), { timeout: 20_000 }).toBe('Quarterly deck')

    // A fresh browser (no IndexedDB of this one) sees what the server stored.
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    try {
      const p = await fresh.newPage()
      await p.addInitScript(() => localStorage.setItem('sketchroom:asked-name', '1'))
      await p.goto(`${app.origin}/b/${newRoom}`)
      await waitForEditor(p)
      await hasShape(p, 'shape:dot')
      const shapes = await p.evaluate(() =>
        window
          .editor!.getCurrentPageShapes()
          .map((s) => ({ id: s.id, type: s.type, parentId: s.parentId, x: s.x, y: s.y, props: s.props as Record<string, unknown> }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      )
      const before = original
        .filter((r) => r.typeName === 'shape')
        .map((r) => ({
          id: r.id,
          type: r.type,
          parentId: r.parentId,
          x: (r as { x?: number }).x,
          y: (r as { y?: number }).y,
          props: r.props,
        }))
        .sort((a, b) => a.id.localeCompare(b.id))
      expect(shapes).toEqual(before)
      // The image came back as an upload to this server, not as base64 in the document.
      const src = await p.evaluate(() => {
        const asset = window.editor!.getAssets().find((a) => a.id === 'asset:dot')
        return asset && 'src' in asset.props ? asset.props.src : null
      })
      expect(src).toMatch(/^\/api\/assets\/[0-9a-f]{64}$/)
      expect(await p.getByTestId('board-title').inputValue()).toBe('Quarterly deck')
    } finally {
      await fresh.close()
    }
  })

  test('a file that is not a board says so and makes no board', async () => {
    await page.goto(app.origin)
    await page
      .getByTestId('open-file-input')
      .setInputFiles({ name: 'notes.tldr', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') })
    await expect.poll(() => page.getByTestId('open-file-error').textContent(), { timeout: 20_000 }).toMatch(/not a tldraw board file/)
    expect(new URL(page.url()).pathname).toBe('/')
  })

  test('dropping a .tldr file on the home page opens it too', async () => {
    await page.goto(app.origin)
    const bytes = fs.readFileSync(tldrPath, 'utf8')
    const transfer = await page.evaluateHandle((text) => {
      const dt = new DataTransfer()
      dt.items.add(new File([text], 'deck.tldr', { type: 'application/json' }))
      return dt
    }, bytes)
    await page.dispatchEvent('main', 'dragover', { dataTransfer: transfer })
    await page.dispatchEvent('main', 'drop', { dataTransfer: transfer })
    await page.waitForURL(/\/b\/[A-Za-z0-9_-]{22}$/, { timeout: 30_000 })
    await waitForEditor(page)
    await hasShape(page, 'shape:slide2')
  })

  test('no request leaves the app origin', () => {
    expect(foreignRequests(requests, app.origin)).toEqual([])
  })
})
