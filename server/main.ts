/**
 * The process entry point, and the one file that reads the environment and touches
 * HTTP and WebSocket sockets.
 *
 *   tsx server/main.ts               Next.js app + sync endpoint on one port (npm start)
 *   tsx server/main.ts --dev         the same with Next.js in development mode (npm run dev)
 *   tsx server/main.ts --sync-only   the sync endpoint alone (npm run sync)
 *
 * Tests and benchmarks call `startServer` to run one in-process on port 0.
 */
import http from 'node:http'
import type { Duplex } from 'node:stream'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import pino, { type Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { CloseCode, SYNC_PATH_PREFIX } from '../lib/protocol'
import { roomIdProblem } from '../lib/roomId'
import { createAssetHandler } from './assets'
import { handleAccessApi } from './accessApi'
import { resolveAuthSecret } from './authSecret'
import { BoardRules } from './BoardRules'
import { type Config, loadConfig, syncLimits } from './config'
import { IpRateLimiter } from './IpRateLimiter'
import { ConfigError } from './errors'
import { createMetrics } from './metrics'
import type { Store } from './Store'
import type { Bus } from './Bus'
import { openBackends } from './backends'
import { SyncServer } from './SyncServer'
import { type Grant, TOKEN_PATTERN, TokenError, TokenSigner } from './tokens'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface StartOptions {
  /** Serve the Next.js app too (default false: sync endpoint, /healthz and /metrics only). */
  app?: boolean
  /** Next.js development mode. */
  dev?: boolean
  logger?: Logger
  /** Defaults to PostgreSQL if DATABASE_URL is set, else SQLite under DATA_DIR. */
  store?: Store
  /** Defaults to Redis if REDIS_URL is set, else none (one instance). */
  bus?: Bus
  /** Passed through to SyncServer (tests shorten it). */
  unloadDelayMs?: number
}

export interface RunningServer {
  port: number
  /** `http://host:port` */
  url: string
  sync: SyncServer
  http: http.Server
  /** Graceful stop: stop accepting, store everything, close sockets with 1001. */
  close(): Promise<void>
}

/**
 * Starts the HTTP server with the sync endpoint (and the app, if asked).
 *
 * @example
 * const server = await startServer(loadConfig({ PORT: '0', DATA_DIR: dir }))
 * new WebsocketProvider(`ws://127.0.0.1:${server.port}/sync`, 'room1', doc, { WebSocketPolyfill: WebSocket })
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? pino({ level: config.LOG_LEVEL, base: { service: 'sketchroom' } })
  const backends = await openBackends(config, log, { store: options.store, bus: options.bus })
  const { store, replicator } = backends
  let sync: SyncServer | null = null
  const metrics = createMetrics(() => sync)
  sync = new SyncServer({
    store,
    log,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    compactAfterBytes: config.COMPACT_AFTER_BYTES,
    dormantAfterMs: config.DORMANT_AFTER_MS,
    flushIntervalMs: config.FLUSH_INTERVAL_MS,
    unloadDelayMs: options.unloadDelayMs,
    observeAppendSeconds: metrics.observeAppendSeconds,
    rules: new BoardRules({ maxRecordBytes: config.MAX_RECORD_BYTES }),
    limits: syncLimits(config),
    // Absent for one instance: the single-process path pays nothing for replication.
    replicate: replicator ?? undefined,
    lifecycle: replicator ?? undefined,
  })
  replicator?.start()
  const connectionsPerIp = new IpRateLimiter(config.MAX_CONNECTIONS_PER_MINUTE, 60_000)
  const syncServer = sync
  const signer = new TokenSigner(resolveAuthSecret(config.AUTH_SECRET, config.DATA_DIR))
  const originOf = (req: http.IncomingMessage) => config.PUBLIC_URL ?? requestOrigin(req, config.TRUST_PROXY)
  const allowedOrigins = config.ALLOWED_ORIGINS?.map((o) => new URL(o).origin) ?? null
  // Default: PUBLIC_URL's origin, or else the host the request came to (the app's own pages).
  const originAllowed = (origin: string, req: http.IncomingMessage): boolean => {
    if (allowedOrigins) return allowedOrigins.includes(origin)
    if (config.PUBLIC_URL) return origin === new URL(config.PUBLIC_URL).origin
    try {
      return new URL(origin).host === req.headers.host
    } catch {
      return false
    }
  }
  const frameAncestors = config.EMBED_ORIGINS.join(' ')

  let nextHandler: ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) | null = null
  let nextUpgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>) | null = null
  let closeNext: (() => Promise<void>) | null = null
  if (options.app) {
    const { default: next } = await import('next')
    const app = next({ dev: options.dev ?? false, dir: ROOT, hostname: config.HOST, port: config.PORT })
    await app.prepare()
    nextHandler = app.getRequestHandler()
    if (options.dev) nextUpgrade = app.getUpgradeHandler()
    closeNext = () => app.close()
  }

  // Image uploads for boards (server/assets.ts); only with the app, which is what uses them.
  const assets = options.app
    ? createAssetHandler({
        dir: path.join(path.resolve(config.DATA_DIR), 'assets'),
        maxBytes: config.MAX_ASSET_BYTES,
        onError: (err) => log.error({ err }, 'asset request failed'),
      })
    : null

  // Node checks header/request timeouts on this interval (30 s by default): keep it in step.
  const connectionsCheckingInterval = Math.min(30_000, Math.max(50, Math.floor(config.HANDSHAKE_TIMEOUT_MS / 4)))
  const server = http.createServer({ connectionsCheckingInterval }, (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!
    // Only embed pages may be framed by other sites; everything else only by ourselves.
    res.setHeader(
      'Content-Security-Policy',
      pathname.startsWith('/embed/') ? `frame-ancestors ${frameAncestors}` : "frame-ancestors 'self'",
    )
    if (handleAccessApi(req, res, { signer, originOf })) return
    if (assets?.(req, res)) return
    if (pathname === '/healthz') {
      const health = syncServer.health()
      res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(health))
      return
    }
    if (pathname === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType })
          res.end(text)
        },
        (err: unknown) => {
          log.error({ err }, 'metrics failed')
          res.writeHead(500).end()
        },
      )
      return
    }
    if (nextHandler) {
      nextHandler(req, res).catch((err: unknown) => {
        log.error({ err, url: req.url }, 'request failed')
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this is the sync server alone\n')
  })

  // Clients that open TCP and never finish the HTTP request are dropped.
  server.headersTimeout = config.HANDSHAKE_TIMEOUT_MS
  server.requestTimeout = Math.max(config.HANDSHAKE_TIMEOUT_MS, 30_000)

  // Requests Node's parser refuses (raw non-ASCII paths, bad headers) get a reason too.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    refuseUpgrade(socket, 400, `malformed HTTP request (${err.code ?? err.message}); room ids are plain ASCII`)
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: config.MAX_MESSAGE_BYTES, perMessageDeflate: false })

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '/').split('?')[0]!
    if (pathname === '/sync' || pathname.startsWith(SYNC_PATH_PREFIX)) {
      const segment = pathname.slice(SYNC_PATH_PREFIX.length)
      // A segment with a dot is a link token (view-only or expiring); anything else a room id.
      const isToken = TOKEN_PATTERN.test(segment)
      const problem = isToken ? null : roomIdProblem(segment)
      if (problem) return refuseUpgrade(socket, 400, problem)
      if (syncServer.isClosing) return refuseUpgrade(socket, 503, 'server is shutting down')
      // Cross-site WebSocket hijacking: a browser page on another site may not open our socket.
      const origin = req.headers.origin
      if (origin !== undefined && !originAllowed(origin, req)) {
        return refuseUpgrade(socket, 403, `origin ${origin} may not connect; see ALLOWED_ORIGINS`)
      }
      const ip = clientIp(req, config.TRUST_PROXY)
      if (!connectionsPerIp.take(ip)) {
        return refuseUpgrade(socket, 429, `too many new connections from ${ip}; the limit is ${config.MAX_CONNECTIONS_PER_MINUTE} a minute`)
      }
      let grant: Grant = { roomId: segment, mode: 'edit', expiresAt: null }
      let refusal: string | null = null
      if (isToken) {
        try {
          grant = signer.verify(segment)
        } catch (err) {
          refusal = err instanceof TokenError ? err.message : 'this link is not valid'
        }
      }
      const roomId = grant.roomId
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (refusal) {
          // Told why over the socket, before any document data, so the client does not retry.
          ws.close(CloseCode.Unauthorized, refusal)
          return
        }
        const events = syncServer.accept(ws, roomId, { ip, readOnly: grant.mode === 'view', transport: socket })
        ws.on('message', (data: Buffer, isBinary: boolean) => events.message(data, isBinary))
        ws.on('pong', () => events.pong())
        ws.on('close', (code: number, reason: Buffer) => events.close(code, reason.toString()))
        ws.on('error', (err: Error & { code?: string }) => {
          // ws closes the socket itself (1009 for frames over maxPayload); just record why.
          log.warn({ room: roomId, err: err.message, code: err.code }, 'socket error')
        })
      })
      return
    }
    if (nextUpgrade) {
      nextUpgrade(req, socket, head).catch(() => socket.destroy())
      return
    }
    refuseUpgrade(socket, 404, 'no WebSocket endpoint here; use /sync/<roomId>')
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.PORT
  const shownHost = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST
  const url = `http://${shownHost}:${port}`
  log.info({ port, url, app: Boolean(options.app), dataDir: path.resolve(config.DATA_DIR), ...backends.kind }, 'listening')

  let closing: Promise<void> | null = null
  return {
    port,
    url,
    sync: syncServer,
    http: server,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        replicator?.stop()
        await syncServer.close()
        // After the rooms unloaded: their last updates and cursor removals went out on the bus.
        await backends.close()
        wss.close()
        server.closeIdleConnections()
        await closeNext?.()
        server.closeAllConnections()
        await stopped
      })()
      return closing
    },
  }
}

/** `scheme://host` as the browser addressed us. */
function requestOrigin(req: http.IncomingMessage, trustProxy: boolean): string {
  const forwardedProto = trustProxy
    ? String(req.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]
        ?.trim()
    : ''
  const proto = forwardedProto || ('encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http')
  return `${proto}://${req.headers.host ?? 'localhost'}`
}

/** The client's address; behind a trusted reverse proxy, the first X-Forwarded-For hop. */
function clientIp(req: http.IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for']
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
    if (first) return first
  }
  return req.socket.remoteAddress ?? 'unknown'
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = `${reason}\n`
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  )
}

/** Runs the server as a process: reads env, starts, stops cleanly on SIGTERM/SIGINT. */
export async function cli(argv: string[]): Promise<void> {
  const syncOnly = argv.includes('--sync-only')
  const dev = argv.includes('--dev')
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`sketchroom: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  const log = pino({ level: config.LOG_LEVEL, base: { service: 'sketchroom' } })
  let running: RunningServer
  try {
    running = await startServer(config, { app: !syncOnly, dev, logger: log })
  } catch (err) {
    log.fatal({ err }, 'could not start')
    console.error(`sketchroom: could not start: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    running.close().then(
      () => {
        log.info('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  void cli(process.argv.slice(2))
}
