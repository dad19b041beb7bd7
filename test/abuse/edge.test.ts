/**
 * The abuse battery of the HTTP edge: forged forwarding headers, DNS rebinding, paths
 * spelled to be framed, Host headers that would end up in links. A real server on port 0,
 * real HTTP and WebSocket requests with the headers an attacker (or a proxy) sends.
 */
import http from 'node:http'
import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, test } from 'vitest'
import { rawClient, testScope, type TestServer } from '../helpers'

const scope = testScope()

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** A GET with exactly these headers (Host included, which fetch will not let us set). */
function get(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, path, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens a WebSocket with these headers; resolves with 101 or the HTTP status of the refusal. */
async function upgrade(s: TestServer, room: string, headers: Record<string, string>, origin?: string): Promise<number> {
  const client = rawClient(`${s.wsUrl}/${room}`, { headers, origin })
  scope.defer(() => client.ws.terminate())
  try {
    await client.opened
    return 101
  } catch (err) {
    return Number(/HTTP (\d+)/.exec(String(err))?.[1] ?? 0)
  }
}

describe('the HTTP edge', () => {
  test('[S75] [A75] 130 connections from one real address behind TRUST_PROXY, each with a spoofed first X-Forwarded-For hop, are limited', async () => {
    // A burst of 120 that barely refills, so the count does not depend on how fast the test runs.
    const s = await scope.server({ TRUST_PROXY: 'true', MAX_CONNECTION_BURST: '120', MAX_CONNECTIONS_PER_MINUTE: '1' })
    const statuses: number[] = []
    for (let i = 0; i < 130; i++) {
      // What nginx's $proxy_add_x_forwarded_for makes of a client that sent its own header.
      statuses.push(await upgrade(s, 'spoofed', { 'x-forwarded-for': `10.66.${i >> 8}.${i & 255}, 203.0.113.50` }))
    }
    expect(statuses.filter((code) => code === 101)).toHaveLength(120)
    expect(statuses.slice(120)).toEqual(Array(10).fill(429))
    // Another real address is its own: the limit is per client, not per proxy.
    expect(await upgrade(s, 'spoofed', { 'x-forwarded-for': '10.66.0.0, 203.0.113.51' })).toBe(101)
  })

  test('[S75] [A75] TRUST_PROXY=<n> takes the n-th hop from the right; without TRUST_PROXY forwarded headers are ignored', async () => {
    const two = await scope.server({ TRUST_PROXY: '2', MAX_CONNECTIONS_PER_MINUTE: '2' })
    // client-written, then what the outer proxy saw (the client), then what the inner proxy saw (the outer proxy).
    const hops = (spoof: string, client: string, outer: string) => ({ 'x-forwarded-for': `${spoof}, ${client}, ${outer}` })
    expect(await upgrade(two, 'r', hops('1.1.1.1', '203.0.113.7', '10.0.0.2'))).toBe(101)
    expect(await upgrade(two, 'r', hops('2.2.2.2', '203.0.113.7', '10.0.0.3'))).toBe(101)
    expect(await upgrade(two, 'r', hops('3.3.3.3', '203.0.113.7', '10.0.0.4'))).toBe(429)
    expect(await upgrade(two, 'r', hops('3.3.3.3', '203.0.113.8', '10.0.0.4'))).toBe(101)
    const direct = await scope.server({ MAX_CONNECTIONS_PER_MINUTE: '2' })
    expect(await upgrade(direct, 'r', { 'x-forwarded-for': '203.0.113.1' })).toBe(101)
    expect(await upgrade(direct, 'r', { 'x-forwarded-for': '203.0.113.2' })).toBe(101)
    expect(await upgrade(direct, 'r', { 'x-forwarded-for': '203.0.113.3' })).toBe(429)
    // The scheme of links, too, is the proxy's word, not the client's.
    const one = await scope.server({ TRUST_PROXY: '1' })
    const oembedOrigin = async (proto: string, s = one) => {
      const url = `http://127.0.0.1:${s.port}/b/SomeRoom`
      const reply = await get(s, `/api/oembed?url=${encodeURIComponent(url)}`, { 'x-forwarded-proto': proto })
      return reply.status === 200 ? (JSON.parse(reply.body) as { provider_url: string }).provider_url : reply.status
    }
    expect(await oembedOrigin('http, http')).toBe(`http://127.0.0.1:${one.port}`)
    expect(await oembedOrigin('https, http')).toBe(`http://127.0.0.1:${one.port}`)
    expect(await oembedOrigin('http, https')).toBe(404) // links are https://…, the asked-for URL http://
  })

  test('[S78] [A78] without PUBLIC_URL or ALLOWED_ORIGINS a page on a domain name cannot open the WebSocket (DNS rebinding); loopback and IP hosts can; the rule is logged at start', async () => {
    let logged = ''
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logged += chunk.toString()
          done()
        },
      }),
    )
    const s = await scope.server({}, { logger })
    const port = s.port
    // evil.example's DNS now points at us: the browser sends its own name as Host and Origin.
    expect(await upgrade(s, 'r', { host: `evil.example:${port}` }, `http://evil.example:${port}`)).toBe(403)
    expect(await upgrade(s, 'r', { host: 'evil.example' }, 'http://evil.example')).toBe(403)
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `127.1.2.3:${port}`,
      `[::1]:${port}`,
      `192.0.2.7:${port}`,
      `app.localhost:${port}`,
    ]) {
      expect(await upgrade(s, 'r', { host }, `http://${host}`), host).toBe(101)
    }
    // Cross-site hijacking stays refused on a loopback host too.
    expect(await upgrade(s, 'r', { host: `127.0.0.1:${port}` }, 'http://evil.example')).toBe(403)
    // Clients without an Origin (servers, CLIs) are no browsers: nothing to rebind.
    expect(await upgrade(s, 'r', { host: 'evil.example' })).toBe(101)
    expect(logged).toMatch(/PUBLIC_URL and ALLOWED_ORIGINS are unset.*localhost or by an IP address/)

    const named = await scope.server({ PUBLIC_URL: 'https://boards.example' })
    expect(await upgrade(named, 'r', { host: 'boards.example' }, 'https://boards.example')).toBe(101)
    expect(await upgrade(named, 'r', { host: 'evil.example' }, 'http://evil.example')).toBe(403)
    const listed = await scope.server({ ALLOWED_ORIGINS: 'http://evil.example' })
    expect(await upgrade(listed, 'r', { host: 'evil.example' }, 'http://evil.example')).toBe(101)
  })

  test('[S79] [A79] framing is decided on the route Next.js renders: dot segments, escapes and backslashes do not make a board page an embed', async () => {
    const s = await scope.server({ EMBED_ORIGINS: 'https://wiki.example' })
    const framing = async (path: string) => {
      const policy = String((await get(s, path)).headers['content-security-policy'])
      return /frame-ancestors ([^;]+)/.exec(policy)?.[1]
    }
    expect(await framing('/embed/SomeRoom')).toBe('https://wiki.example')
    expect(await framing('/embed/v/abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUV?ui=0')).toBe('https://wiki.example')
    for (const path of [
      '/embed/%2e%2e/b/SomeRoom',
      '/embed/%2E%2E/b/SomeRoom',
      '/embed/../b/SomeRoom',
      '/embed/./../b/SomeRoom',
      '/embed\\..\\b\\SomeRoom',
      '/embed/%2e%2e%2fb%2fSomeRoom',
      '/embed/x/../../b/SomeRoom',
      '/embed/b/SomeRoom',
      '//embed/SomeRoom',
      '/embed',
      '/b/SomeRoom',
    ]) {
      expect(await framing(path), path).toBe("'self'")
    }
  })

  test('[S80] [A80] a Host the origin rule does not trust never appears in a link: oEmbed answers 404 on it; a forwarded scheme counts only with TRUST_PROXY', async () => {
    const s = await scope.server()
    const oembed = (url: string, headers: Record<string, string>) => get(s, `/api/oembed?url=${encodeURIComponent(url)}`, headers)
    const poisoned = await oembed('http://evil.example/b/SomeRoom', { host: 'evil.example' })
    expect(poisoned.status).toBe(404)
    expect(poisoned.body).not.toContain('evil.example')
    const own = await oembed(`http://127.0.0.1:${s.port}/b/SomeRoom`, { host: `127.0.0.1:${s.port}`, 'x-forwarded-proto': 'https' })
    expect(own.status).toBe(200)
    expect((JSON.parse(own.body) as { html: string }).html).toContain(`src="http://127.0.0.1:${s.port}/embed/SomeRoom"`)
    expect((await oembed(`https://127.0.0.1:${s.port}/b/SomeRoom`, { 'x-forwarded-proto': 'https' })).status).toBe(404)
    // With PUBLIC_URL links name it, whatever the Host.
    const named = await scope.server({ PUBLIC_URL: 'https://boards.example' })
    const reply = await get(named, `/api/oembed?url=${encodeURIComponent('https://boards.example/b/SomeRoom')}`, { host: 'evil.example' })
    expect(reply.status).toBe(200)
    expect(reply.body).not.toContain('evil.example')
  })
})
