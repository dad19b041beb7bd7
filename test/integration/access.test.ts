import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { encodeUpdate, encodeSyncStep1, parseMessage } from '../../server/protocol/messages'
import { SqliteStore } from '../../server/storage/SqliteStore'
import { sqliteFile } from '../../server/config'
import { TokenError, TokenSigner } from '../../server/http/tokens'
import { geoShape, records, seedBoard } from '../abuse/board'
import {
  connectClient,
  rawClient,
  ROOT,
  sleep,
  startTestServer,
  synced,
  testScope,
  type TestServer,
  upgradeRefusal,
  waitFor,
} from '../helpers'

const scope = testScope()
const defer = scope.defer

const SECRET = 'a-test-secret-that-is-long-enough'
const server = (env: Record<string, string> = {}) => scope.server({ AUTH_SECRET: SECRET, ...env })
const api = (s: TestServer, p: string, init?: RequestInit) => fetch(`http://127.0.0.1:${s.port}${p}`, init)

async function viewLink(s: TestServer, roomId: string): Promise<string> {
  const res = await api(s, '/api/links', { method: 'POST', body: JSON.stringify({ roomId }) })
  expect(res.status).toBe(200)
  const links = (await res.json()) as { edit: string; view: string }
  expect(links.edit).toBe(`/b/${roomId}`)
  return links.view.slice('/v/'.length)
}

describe('links', () => {
  test('[S60] a view token cannot be read, forged, moved to another room, upgraded to edit, or used after it expires', () => {
    let now = 1_000_000
    const signer = new TokenSigner(SECRET, () => now)
    const roomId = 'Abcdefghijklmnopqrstuv'
    const token = signer.sign({ roomId, mode: 'view', expiresAt: null })
    expect(signer.verify(token)).toEqual({ roomId, mode: 'view', expiresAt: null, generation: 0 })
    // The room id (the edit capability) is not in the token, not even base64-decoded.
    expect(token).not.toContain(roomId)
    expect(Buffer.from(token.split('.')[0]!, 'base64url').toString('latin1')).not.toContain(roomId)
    // Any changed byte is a forgery; so is a token of another secret.
    const [body, mac] = token.split('.') as [string, string]
    const flipped = `${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}.${mac}`
    expect(() => signer.verify(flipped)).toThrow(TokenError)
    expect(() => new TokenSigner('another-secret-long-enough').verify(token)).toThrow(/not valid/)
    expect(() => signer.verify(`${body}.${signer.sign({ roomId: 'other', mode: 'edit', expiresAt: null }).split('.')[1]}`)).toThrow(
      /not valid/,
    )
    const expiring = signer.sign({ roomId, mode: 'view', expiresAt: now + 1000 })
    expect(signer.verify(expiring).mode).toBe('view')
    now += 1001
    expect(() => signer.verify(expiring)).toThrow(/expired/)
  })

  test('[S61] a view-only connection reads live but its writes are never applied, relayed or stored; it is told once', async () => {
    const s = await server()
    const editor = connectClient(s.wsUrl, 'shared-room')
    defer(() => editor.destroy())
    await synced(editor)
    seedBoard(editor.doc)
    const token = await viewLink(s, 'shared-room')
    // A raw client ignoring the UI: it sends sync step 1, then writes anyway.
    const viewer = rawClient(`${s.wsUrl}/${token}`)
    defer(() => viewer.ws.terminate())
    await viewer.opened
    viewer.send(encodeSyncStep1(Uint8Array.of(0)))
    await waitFor(() => viewer.frames.some((f) => parseMessage(f).type === 'sync-step2'), 'the board for the viewer')
    const rogue = new Y.Doc()
    records(rogue).set('shape:vandal', geoShape('shape:vandal'))
    for (let i = 0; i < 3; i++) viewer.send(encodeUpdate(Y.encodeStateAsUpdate(rogue)))
    // It keeps reading: an editor's change arrives.
    records(editor.doc).set('shape:live', geoShape('shape:live'))
    await waitFor(() => viewer.frames.some((f) => parseMessage(f).type === 'sync-update'), "the editor's change at the viewer")
    await sleep(100)
    const denials = viewer.frames.filter((f) => parseMessage(f).type === 'auth')
    expect(denials).toHaveLength(1)
    expect(viewer.ws.readyState).toBe(WebSocket.OPEN)
    expect(records(editor.doc).has('shape:vandal')).toBe(false)
    await s.close()
    const store = new SqliteStore({ file: sqliteFile({ DATA_DIR: s.dataDir }) })
    const stored = new Y.Doc()
    Y.applyUpdate(stored, (await store.load('shared-room'))!.update)
    await store.close()
    expect(records(stored).has('shape:vandal')).toBe(false)
    expect(records(stored).has('shape:live')).toBe(true)
  })

  test('[S62] a stock client with a view link sees the board live; its awareness is limited to presence and user', async () => {
    const s = await server()
    const editor = connectClient(s.wsUrl, 'view-aw')
    defer(() => editor.destroy())
    await synced(editor)
    seedBoard(editor.doc)
    const token = await viewLink(s, 'view-aw')
    const viewer = connectClient(s.wsUrl, token)
    defer(() => viewer.destroy())
    await synced(viewer)
    expect(records(viewer.doc).has('shape:geo1')).toBe(true)
    viewer.provider.awareness.setLocalState({ user: { id: 'v', name: 'Viewer', color: '#00f' } })
    await waitFor(() => editor.provider.awareness.getStates().get(viewer.doc.clientID)?.user?.name === 'Viewer', 'the viewer in awareness')
    viewer.provider.awareness.setLocalState({ user: { id: 'v', name: 'Viewer', color: '#00f' }, selection: ['shape:geo1'] })
    await sleep(150)
    expect(editor.provider.awareness.getStates().get(viewer.doc.clientID)?.selection).toBeUndefined()
  })

  test('[S63] a forged or expired token is refused with 4401 and a reason before any document data', async () => {
    let now = Date.now()
    const s = await server()
    const signer = new TokenSigner(SECRET, () => now)
    const expired = signer.sign({ roomId: 'secret-room', mode: 'view', expiresAt: now - 1 })
    const forged = new TokenSigner('not-the-server-secret!!').sign({ roomId: 'secret-room', mode: 'edit', expiresAt: null })
    for (const [token, reason] of [
      [expired, /expired/],
      [forged, /not valid/],
    ] as const) {
      const r = rawClient(`${s.wsUrl}/${token}`)
      defer(() => r.ws.terminate())
      const closed = await r.closed
      expect(closed.code).toBe(4401)
      expect(closed.reason).toMatch(reason)
      expect(r.frames).toEqual([])
    }
    expect(s.sync.health().rooms).toBe(0)
    now += 0
  })

  test('[S64] WebSocket upgrades from a foreign browser origin are refused with 403; same origin and no origin are fine', async () => {
    const s = await server()
    const url = `${s.wsUrl}/origin-room`
    const foreign = rawClient(url, { origin: 'https://evil.example' })
    await expect(foreign.opened).rejects.toThrow(/HTTP 403/)
    const same = rawClient(url, { origin: `http://127.0.0.1:${s.port}` })
    defer(() => same.ws.terminate())
    await same.opened
    const cli = rawClient(url)
    defer(() => cli.ws.terminate())
    await cli.opened
    const listed = await server({ ALLOWED_ORIGINS: 'https://board.example, https://wiki.example' })
    const wiki = rawClient(`${listed.wsUrl}/x`, { origin: 'https://wiki.example' })
    defer(() => wiki.ws.terminate())
    await wiki.opened
    await expect(rawClient(`${listed.wsUrl}/x`, { origin: `http://127.0.0.1:${listed.port}` }).opened).rejects.toThrow(/HTTP 403/)
    expect((await upgradeRefusal(s.port, '/sync/..')).status).toBe(400)
  })

  test('[S65] token info and oEmbed answer for our links and 404 for foreign ones', async () => {
    const s = await server({ PUBLIC_URL: 'https://boards.example' })
    const token = await viewLink(s, 'embed-room')
    expect(await (await api(s, `/api/tokens/${token}`)).json()).toEqual({ mode: 'view', expiresAt: null })
    const bad = await api(s, '/api/tokens/xxxxxxxxxxxxxxxxxxxxxx.yyyyyyyyyyyyyyyyyyyyyy')
    expect(bad.status).toBe(401)
    expect(await bad.json()).toEqual({ error: 'this link is not valid' })
    const board = await api(s, `/api/oembed?url=${encodeURIComponent('https://boards.example/b/embed-room')}&maxwidth=640`)
    expect(board.status).toBe(200)
    const oembed = (await board.json()) as { type: string; html: string; width: number; height: number; version: string }
    expect(oembed).toMatchObject({ version: '1.0', type: 'rich', width: 640, height: 600 })
    expect(oembed.html).toContain('src="https://boards.example/embed/embed-room"')
    const view = (await (await api(s, `/api/oembed?url=${encodeURIComponent(`https://boards.example/v/${token}`)}`)).json()) as {
      html: string
    }
    expect(view.html).toContain(`/embed/v/${token}`)
    expect(view.html).not.toContain('embed-room')
    for (const foreign of ['https://elsewhere.example/b/embed-room', 'https://boards.example/about', 'not a url']) {
      const res = await api(s, `/api/oembed?url=${encodeURIComponent(foreign)}`)
      expect(res.status, foreign).toBe(404)
      expect(((await res.json()) as { error: string }).error).toBeTruthy()
    }
    expect((await api(s, '/api/links', { method: 'POST', body: '{"roomId":"../x"}' })).status).toBe(400)
  })

  test('[S65] an expired link is told apart from a forged one: 410 and 401, each with a sentence to show', async () => {
    const s = await server()
    const signer = new TokenSigner(SECRET)
    const expired = signer.sign({ roomId: 'gone-room', mode: 'view', expiresAt: Date.now() - 1000 })
    const gone = await api(s, `/api/tokens/${expired}`)
    expect(gone.status).toBe(410)
    expect(((await gone.json()) as { error: string }).error).toMatch(/expired/)
    const forged = new TokenSigner('not-the-server-secret!!').sign({ roomId: 'gone-room', mode: 'view', expiresAt: null })
    const bad = await api(s, `/api/tokens/${forged}`)
    expect(bad.status).toBe(401)
    expect(((await bad.json()) as { error: string }).error).toMatch(/not valid/)
  })

  test('[S66] only /embed/* pages may be framed by other sites (EMBED_ORIGINS); everything else frame-ancestors self', async () => {
    const s = await server({ EMBED_ORIGINS: 'https://wiki.example https://lms.example' })
    const framing = async (t: TestServer, p: string) =>
      /(?:^|; )frame-ancestors ([^;]+)/.exec((await api(t, p)).headers.get('content-security-policy') ?? '')?.[1]
    expect(await framing(s, '/embed/some-room')).toBe('https://wiki.example https://lms.example')
    expect(await framing(s, '/b/some-room')).toBe("'self'")
    expect(await framing(s, '/healthz')).toBe("'self'")
    const open = await server()
    expect(await framing(open, '/embed/v/abc')).toBe('*')
  })

  test('[S67] without AUTH_SECRET a secret is made once under DATA_DIR, so links survive restarts; npm run token mints working links', async () => {
    const first = await startTestServer()
    const dataDir = first.dataDir
    const token = await viewLink(first, 'lasting-room')
    await first.close()
    const second = await startTestServer({ DATA_DIR: dataDir })
    defer(() => second.close())
    expect((await api(second, `/api/tokens/${token}`)).status).toBe(200)
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), '--room', 'lasting-room', '--mode', 'view', '--ttl', '1h'],
      {
        cwd: ROOT,
        env: { ...process.env, DATA_DIR: dataDir, PUBLIC_URL: 'https://boards.example' },
        encoding: 'utf8',
      },
    )
    const link = out.trim()
    expect(link).toMatch(/^https:\/\/boards\.example\/v\/[\w-]+\.[\w-]+$/)
    const minted = link.split('/v/')[1]!
    const info = (await (await api(second, `/api/tokens/${minted}`)).json()) as { mode: string; expiresAt: number }
    expect(info.mode).toBe('view')
    expect(info.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000)
    const viewer = connectClient(second.wsUrl, minted)
    defer(() => viewer.destroy())
    await synced(viewer)
  })
})
