/**
 * Shared test plumbing: a real server on port 0 with a temp DATA_DIR, stock y-websocket
 * clients, raw WebSocket clients, and polling waits.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'
import pino from 'pino'
import { afterAll, afterEach } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { type Config, loadConfig } from '../server/config'
import { type RunningServer, type StartOptions, startServer } from '../server/app'
import { PostgresStore } from '../server/storage/PostgresStore'

export const ROOT = path.resolve(import.meta.dirname, '..')

/** The real PostgreSQL of this machine (or CI). */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/**
 * Fresh PostgreSQL schema names for one test file, each dropped (with everything in it)
 * after the file's tests. `keep(name)` adds a schema made by the code under test.
 */
export function postgresSchemas(prefix: string) {
  const made: string[] = []
  afterAll(async () => {
    for (const schema of made) {
      const store = new PostgresStore({ url: DATABASE_URL, schema })
      await store.dropSchema()
      await store.close()
    }
  })
  return {
    next(): string {
      const schema = `${prefix}_${randomBytes(6).toString('hex')}`
      made.push(schema)
      return schema
    },
    keep(schema: string): void {
      made.push(schema)
    },
  }
}

export function tempDir(prefix = 'sketchroom-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export interface TestServer extends RunningServer {
  dataDir: string
  wsUrl: string
}

/** Starts a real server on 127.0.0.1, port 0 by default, with its own temp DATA_DIR. */
export async function startTestServer(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? tempDir()
  // Every test connects from 127.0.0.1; only the per-IP tests want the real limit.
  const config: Config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    MAX_CONNECTIONS_PER_MINUTE: '1000000',
    ...env,
    DATA_DIR: dataDir,
  })
  const server = await startServer(config, { logger: pino({ level: 'silent' }), unloadDelayMs: 0, ...options })
  return { ...server, dataDir, wsUrl: `ws://127.0.0.1:${server.port}/sync` }
}

export interface TestClient {
  doc: Y.Doc
  provider: WebsocketProvider
  destroy(): void
}

/** A stock y-websocket client (Node, `ws`). */
export function connectClient(wsUrl: string, roomId: string, doc = new Y.Doc()): TestClient {
  const provider = new WebsocketProvider(wsUrl, roomId, doc, {
    // y-websocket's types want the DOM WebSocket; ws implements the same surface.
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 200,
  })
  return {
    doc,
    provider,
    destroy() {
      provider.destroy()
      doc.destroy()
    },
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export async function synced(...clients: TestClient[]): Promise<void> {
  await waitFor(() => clients.every((c) => c.provider.synced), 'clients to sync')
}

/** A raw WebSocket client that records frames and its close code/reason. */
export interface RawClient {
  ws: WebSocket
  frames: Uint8Array[]
  closed: Promise<{ code: number; reason: string }>
  opened: Promise<void>
  send(frame: Uint8Array | string): void
}

export function rawClient(url: string, options: WebSocket.ClientOptions = {}): RawClient {
  const ws = new WebSocket(url, options)
  const frames: Uint8Array[] = []
  ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)))
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
  })
  return { ws, frames, closed, opened, send: (frame) => ws.send(frame) }
}

/**
 * Sends a WebSocket upgrade for `path` exactly as given (no URL normalisation, unlike
 * WebSocket clients) and returns the HTTP status and body of the refusal.
 */
export function upgradeRefusal(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Raw bytes over TCP: http.request refuses to send some of the paths we must test.
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          Buffer.from('GET '),
          Buffer.from(path, 'utf8'),
          Buffer.from(
            ' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
              'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
          ),
        ]),
      )
    })
    let response = ''
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()))
    socket.on('error', reject)
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1] ?? 0)
      if (status === 101) return reject(new Error(`upgrade to ${path} was accepted`))
      resolve({ status, body: response.split('\r\n\r\n').slice(1).join('\r\n\r\n') })
    })
  })
}

/** The server as a separate process (`node --import tsx server/main.ts --sync-only`), for kill -9 and signal tests. */
export interface ChildServer {
  child: ChildProcess
  port: number
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts the server as a child process; LOG_LEVEL must stay at info or lower, the port is read from the log. */
export async function spawnServer(env: Record<string, string>): Promise<ChildServer> {
  // The store and the bus are the test's to choose: CI exports DATABASE_URL and REDIS_URL for
  // the suites that ask for them, and a child that inherited them would share one schema and
  // one bus with every other run.
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/main.ts'), '--sync-only'], {
    cwd: ROOT,
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', MAX_CONNECTIONS_PER_MINUTE: '1000000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"msg":"listening"/.test(output) && /"port":(\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening:\n${output}`)))
    setTimeout(() => {
      // Not left running behind a failed test.
      child.kill('SIGKILL')
      reject(new Error(`server did not report listening within 30 s:\n${output}`))
    }, 30_000).unref()
  })
  return { child, port, output: () => output, exited }
}

/** A real full GC, for memory assertions (vitest does not start workers with --expose-gc). */
export function forceGc(): void {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  gc()
}

/** mulberry32: small and fast, enough to replay a fuzz run from its printed seed. */
export function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick: <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)]!,
  }
}

/**
 * Per-file test plumbing that cleans up after every test: servers closed, clients
 * destroyed, sockets terminated, in reverse order.
 */
export function testScope() {
  const pending: Array<() => unknown> = []
  afterEach(async () => {
    for (const fn of pending.splice(0).reverse()) await fn()
  })
  const defer = (fn: () => unknown) => void pending.push(fn)
  return {
    defer,
    async server(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
      const s = await startTestServer(env, options)
      defer(() => s.close())
      return s
    },
    client(s: { wsUrl: string }, room: string): TestClient {
      const c = connectClient(s.wsUrl, room)
      defer(() => c.destroy())
      return c
    },
    raw(s: { wsUrl: string }, room: string, options?: WebSocket.ClientOptions): RawClient {
      const r = rawClient(`${s.wsUrl}/${room}`, options)
      defer(() => r.ws.terminate())
      return r
    },
  }
}
