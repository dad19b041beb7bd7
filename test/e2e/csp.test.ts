/**
 * The pages under their real Content-Security-Policy, in real Chromium against a
 * production build: a board, an edit-token board and a view page work with the policy
 * enforced (no violation is reported, drawing and images sync), and the headers around
 * them say what SPEC.md promises.
 */
import http from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { newRoomId } from '../../lib/roomId'
import { TokenSigner } from '../../server/http/tokens'
import { type AppServer, drawRectangle, hasChromium, hasShape, screenshotPages, startSuite, waitForEditor } from './harness'

const AUTH_SECRET = 'e2e-csp-secret-0123456789abcdef'

declare global {
  interface Window {
    /** Every `securitypolicyviolation` the page saw, as `directive blocked-uri`. */
    cspViolations?: string[]
  }
}

/** A GET with exactly these headers (fetch will not send our own Host). */
function get(origin: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.get(`${origin}${path}`, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
  })
}

const directive = (policy: string | undefined, name: string) => new RegExp(`(?:^|; )${name} ([^;]+)`).exec(policy ?? '')?.[1]

describe.skipIf(!hasChromium)('content security policy', () => {
  let app: AppServer
  let browser: Browser
  let context: BrowserContext
  const pages: Page[] = []
  const consoleProblems: string[] = []
  const roomId = newRoomId()
  const signer = new TokenSigner(AUTH_SECRET)

  async function open(path: string, hasBoard = true): Promise<Page> {
    const page = await context.newPage()
    pages.push(page)
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) consoleProblems.push(m.text())
    })
    page.on('pageerror', (err) => consoleProblems.push(`page error: ${err.message}`))
    await page.goto(`${app.origin}${path}`)
    if (hasBoard) await waitForEditor(page)
    else await page.waitForLoadState('networkidle')
    return page
  }

  beforeAll(async () => {
    ;({ app, browser } = await startSuite({ AUTH_SECRET }))
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.addInitScript(() => {
      window.cspViolations = []
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations!.push(`${e.effectiveDirective} ${e.blockedURI}`))
    })
  }, 900_000)

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshotPages(`csp ${ctx.task.name}`, pages)
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  test('[S77] pages carry a policy with a fresh script nonce that their own scripts use, and nosniff and no-referrer', async () => {
    const first = await get(app.origin, `/b/${roomId}`)
    const second = await get(app.origin, `/b/${roomId}`)
    expect(first.status).toBe(200)
    const policy = String(first.headers['content-security-policy'])
    const nonce = /'nonce-([^']+)'/.exec(directive(policy, 'script-src') ?? '')?.[1]
    expect(nonce).toBeTruthy()
    expect(String(second.headers['content-security-policy'])).not.toContain(nonce)
    expect(directive(policy, 'object-src')).toBe("'none'")
    expect(directive(policy, 'base-uri')).toBe("'none'")
    expect(directive(policy, 'frame-ancestors')).toBe("'self'")
    expect(directive(policy, 'connect-src')).toBe(`'self' ${app.origin.replace('http', 'ws')}`)
    expect(directive(policy, 'script-src')).not.toMatch(/unsafe-inline|unsafe-eval/)
    // Every script of a page, inline or not, carries its response's nonce: pages are
    // rendered per request, the home page included (a prerendered one would have none).
    for (const page of [first, await get(app.origin, '/')]) {
      const pageNonce = /'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))?.[1]
      const scripts = [...page.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])
      expect(scripts.length).toBeGreaterThan(2)
      for (const tag of scripts) expect(tag).toContain(`nonce="${pageNonce}"`)
    }
    for (const path of ['/', '/nowhere', '/_next/static/does-not-exist.js', '/api/assets', '/healthz']) {
      const reply = await get(app.origin, path)
      expect(reply.headers['x-content-type-options'], path).toBe('nosniff')
      expect(reply.headers['referrer-policy'], path).toBe('no-referrer')
      const answered = String(reply.headers['content-security-policy'])
      // Pages get the page policy; what is not a page may load nothing.
      expect(directive(answered, 'object-src') ?? directive(answered, 'default-src'), path).toBe("'none'")
    }
    // A nonce a client sends in its own request header is not the one the page gets.
    const chosen = await get(app.origin, `/b/${roomId}`, { 'content-security-policy': "script-src 'nonce-chosenbytheclient'" })
    expect(chosen.body).not.toContain('chosenbytheclient')
  })

  test('[S77] the home page, a board, an edit-token board and a view page work with the policy enforced: drawing and images sync, no violation', async () => {
    // The home page's scripts run: its New board button navigates in the client.
    const home = await open('/', false)
    await home.getByTestId('new-board').click()
    await waitForEditor(home)
    const editor = await open(`/b/${roomId}`)
    const guest = await open(`/e/${signer.sign({ roomId, mode: 'edit', expiresAt: Date.now() + 3_600_000 })}`)
    const viewer = await open(`/v/${signer.sign({ roomId, mode: 'view', expiresAt: null })}`)
    const rectangle = await drawRectangle(editor, 300, 300)
    await hasShape(viewer, rectangle)
    await hasShape(guest, rectangle)
    // An image pasted by the edit-token guest: uploaded with its token, shown everywhere.
    const image = await guest.evaluate(async () => {
      const canvas = document.createElement('canvas')
      canvas.width = 40
      canvas.height = 30
      canvas.getContext('2d')!.fillRect(0, 0, 40, 30)
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'))
      const before = new Set(window.editor!.getCurrentPageShapeIds())
      await window.editor!.putExternalContent({
        type: 'files',
        files: [new File([blob], 'a.png', { type: 'image/png' })],
        point: { x: 700, y: 400 },
      })
      return [...window.editor!.getCurrentPageShapeIds()].find((id) => !before.has(id))
    })
    expect(image).toBeTruthy()
    await hasShape(viewer, image!)
    await hasShape(editor, image!)
    await expect
      .poll(() =>
        viewer.evaluate(() => [...document.querySelectorAll('img')].some((img) => img.src.includes('/api/assets/') && img.complete)),
      )
      .toBe(true)
    // The Share dialog and its live preview (an embed framed by the app itself).
    await editor.getByTestId('share').click()
    await editor.getByTestId('embed-view').check()
    const preview = await (await editor.getByTestId('share-preview').elementHandle())!.contentFrame()
    await waitForEditor(preview!)
    expect(await preview!.evaluate(() => window.cspViolations)).toEqual([])
    await editor.getByRole('button', { name: 'Done' }).click()
    for (const page of pages) expect(await page.evaluate(() => window.cspViolations), page.url()).toEqual([])
    expect(consoleProblems).toEqual([])
  })

  test('[S79] /embed/%2e%2e/b/<id> renders the board page, and is framed only by the app itself', async () => {
    const tricked = await get(app.origin, `/embed/%2e%2e/b/${roomId}`)
    expect(tricked.status).toBe(200)
    expect(tricked.body).toContain('<title>Board · sketchroom</title>')
    expect(directive(String(tricked.headers['content-security-policy']), 'frame-ancestors')).toBe("'self'")
    const embed = await get(app.origin, `/embed/${roomId}`)
    expect(directive(String(embed.headers['content-security-policy']), 'frame-ancestors')).toBe('*')
  })

  test('[S80] a page asked for under a Host the origin rule does not trust carries no discovery link; under its own, one to itself', async () => {
    const link = (html: string) => /<link[^>]+application\/json\+oembed[^>]*>/.exec(html)?.[0]
    const own = await get(app.origin, `/b/${roomId}`)
    expect(link(own.body)).toContain(`href="${app.origin}/api/oembed?url=`)
    const poisoned = await get(app.origin, `/b/${roomId}`, { host: 'evil.example', 'x-sketchroom-public-origin': 'https://evil.example' })
    expect(poisoned.status).toBe(200)
    expect(link(poisoned.body)).toBeUndefined()
    expect(poisoned.body).not.toContain('evil.example')
  })
})
