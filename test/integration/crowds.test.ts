/**
 * Per-address limits are about abuse, not about people ([S35], [S49]): a crowd behind one
 * address joins and comes back after a restart with the default settings; a flood from
 * one address is refused without slowing the server.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { startTestServer, type TestServer, testScope, waitFor } from '../helpers'

const { defer } = testScope()

/** The limits as shipped: the test helpers lift the per-address ones, so put them back. */
const DEFAULTS = { MAX_CONNECTIONS_PER_MINUTE: '1200' }

describe('[S35] crowds behind one address', () => {
  test('300 people from one address join, and after a SIGTERM-style restart all are back within 30 s', async () => {
    let s = await startTestServer(DEFAULTS)
    const port = s.port
    defer(() => s.close())
    const people = Array.from({ length: 300 }, (_, i) => {
      const doc = new Y.Doc()
      // Stock clients with stock reconnect timing (y-websocket's default backoff).
      const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, `classroom-${i % 10}`, doc, {
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      })
      defer(() => {
        provider.destroy()
        doc.destroy()
      })
      return provider
    })
    await waitFor(() => people.every((p) => p.synced), 'all 300 to join', 30_000)
    expect(s.sync.connectionCount).toBe(300)
    await s.close()
    await waitFor(() => people.every((p) => !p.wsconnected), 'everyone to notice the restart')
    s = await startTestServer({ ...DEFAULTS, PORT: String(port) })
    const restarted = performance.now()
    await waitFor(() => people.every((p) => p.wsconnected && p.synced), 'all 300 to be back', 30_000)
    console.log(`[S35] 300 clients back ${Math.round(performance.now() - restarted)} ms after the restart`)
    expect(s.sync.connectionCount).toBe(300)
  })

  test('a flood of 5,000 connection attempts from one address is refused, and /healthz stays quick meanwhile', async () => {
    const s = await startTestServer(DEFAULTS)
    defer(() => s.close())
    const statuses = new Map<number, number>()
    const latencies: number[] = []
    let flooding = true
    const probe = (async () => {
      while (flooding) {
        const started = performance.now()
        const res = await fetch(`http://127.0.0.1:${s.port}/healthz`)
        await res.arrayBuffer()
        latencies.push(performance.now() - started)
        expect(res.status).toBe(200)
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    })()
    const held: net.Socket[] = []
    defer(() => held.forEach((socket) => socket.destroy()))
    const attempt = () => upgradeStatus(s, held)
    for (let sent = 0; sent < 5000; sent += 250) {
      const results = await Promise.all(Array.from({ length: 250 }, attempt))
      for (const status of results) statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
    flooding = false
    await probe
    latencies.sort((a, b) => a - b)
    const median = latencies[Math.floor(latencies.length / 2)]!
    console.log(
      `[S35] flood: ${JSON.stringify(Object.fromEntries(statuses))}; /healthz median ${median.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms over ${latencies.length}`,
    )
    // The burst gets in (it is people, as far as the server can tell); the rest is refused.
    expect(statuses.get(101) ?? 0).toBeGreaterThan(400)
    expect(statuses.get(101) ?? 0).toBeLessThanOrEqual(1000)
    expect((statuses.get(429) ?? 0) + (statuses.get(101) ?? 0)).toBe(5000)
    expect(median).toBeLessThan(200)
  })
})

/** Sends a WebSocket upgrade and returns its status; accepted sockets are kept open (idle). */
function upgradeStatus(s: TestServer, held: net.Socket[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(s.port, '127.0.0.1', () => {
      socket.write(
        `GET /sync/flood-room HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      )
    })
    socket.once('data', (chunk: Buffer) => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString())?.[1] ?? 0)
      if (status === 101) held.push(socket)
      else socket.destroy()
      resolve(status)
    })
    socket.once('error', reject)
  })
}
