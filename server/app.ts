/**
 * `startServer`: the one place everything is wired. It opens the store and the bus,
 * builds the sync server, the HTTP routes and the WebSocket upgrade, and listens. If
 * start-up fails half-way, whatever it had opened is closed again.
 */
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino, { type Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { BoardAdmin, type SweepResult } from './admin/BoardAdmin'
import { BoardSweeper } from './admin/BoardSweeper'
import { BoardRules } from './board/BoardRules'
import type { Bus } from './bus/Bus'
import { openBackends } from './backends'
import { boardSettleMs, type Config, connectionBurst, maxPayload, syncLimits, uploadLimits, versionPolicy } from './config'
import { handleAccessApi } from './http/accessApi'
import { handleHistoryApi } from './http/historyApi'
import { BoardLinks } from './http/links'
import { type AddressRules, clientAddress, describeOriginRule, originAllowed, requestOrigin } from './http/addresses'
import { scheduleAssetSweeps } from './http/assetCollector'
import { createAssetHandler } from './http/assets'
import { resolveAuthSecret } from './http/authSecret'
import { AddressLimiter, capTcpConnections } from './http/AddressLimiter'
import { createMetrics } from './http/metrics'
import { createPreviews, previewFile } from './http/previews'
import { refuseUpgrade } from './http/responses'
import { createRouter, type MaybeHandler } from './http/router'
import { TokenSigner } from './http/tokens'
import { createUpgradeHandler } from './http/upgrade'
import { safeLogger } from './logging'
import type { Store } from './storage/Store'
import { roomTagger } from './sync/roomTags'
import { SyncServer } from './sync/SyncServer'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface StartOptions {
  /** Serve the Next.js app too (default false: sync endpoint, /healthz and /metrics only). */
  app?: boolean
  /** Serve image uploads (`/api/assets`); default: with the app, which is what uses them. */
  assets?: boolean
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
  /** Runs the board sweep (trash expiry, retention) now instead of at its next interval. */
  sweepBoards(): Promise<SweepResult | null>
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
  // Whoever made the logger, errors are logged without the details that can quote a capability.
  const log = safeLogger(options.logger ?? pino({ level: config.LOG_LEVEL, base: { service: 'sketchroom' } }))
  // What has been opened so far, closed in reverse if a later step fails.
  const opened: Array<() => Promise<void> | void> = []
  try {
    return await start(config, options, log, opened)
  } catch (err) {
    for (const close of opened.reverse()) {
      try {
        await close()
      } catch (closeErr) {
        log.warn({ err: closeErr }, 'could not close a part of a server that failed to start')
      }
    }
    throw err
  }
}

async function start(
  config: Config,
  options: StartOptions,
  log: Logger,
  opened: Array<() => Promise<void> | void>,
): Promise<RunningServer> {
  const backends = await openBackends(config, log, { store: options.store, bus: options.bus })
  // Stores close idempotently: the sync server closes its own, this is for a failure before it exists.
  opened.push(
    () => backends.store.close(),
    () => backends.close(),
  )
  const { store, replicator } = backends
  let syncServer: SyncServer | null = null
  let sweeper: BoardSweeper | null = null
  let assetSweeps: ReturnType<typeof scheduleAssetSweeps> | null = null
  const metrics = createMetrics(() => syncServer, {
    bus: replicator ? () => replicator.stats : undefined,
    boards: () => sweeper?.stats ?? null,
    assets: () => assetSweeps?.stats ?? null,
  })
  const secret = resolveAuthSecret(config.AUTH_SECRET, config.DATA_DIR)
  const boardRules = new BoardRules({ maxRecordBytes: config.MAX_RECORD_BYTES })
  const sync = new SyncServer({
    store,
    log,
    tagRoom: roomTagger(secret),
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    compactAfterBytes: config.COMPACT_AFTER_BYTES,
    dormantAfterMs: config.DORMANT_AFTER_MS,
    memoryReleaseBytes: config.MEMORY_RELEASE_BYTES,
    flushIntervalMs: config.FLUSH_INTERVAL_MS,
    flushIntervalBusyMs: config.FLUSH_INTERVAL_BUSY_MS,
    unloadDelayMs: options.unloadDelayMs,
    observeAppendSeconds: metrics.observeAppendSeconds,
    rules: boardRules,
    versions: versionPolicy(config),
    limits: syncLimits(config),
    // Absent for one instance: the single-process path pays nothing for replication.
    replicate: replicator ?? undefined,
    lifecycle: replicator ?? undefined,
    boardCheckIntervalMs: config.BOARD_CHECK_INTERVAL_MS,
  })
  syncServer = sync
  opened.push(() => sync.close())
  replicator?.start()

  const assetsDir = path.join(path.resolve(config.DATA_DIR), 'assets')
  const previewsDir = path.join(path.resolve(config.DATA_DIR), 'previews')
  const admin = new BoardAdmin({
    store,
    rules: boardRules,
    assetsDir,
    settleMs: boardSettleMs(config),
    boardFiles: (roomId) => [previewFile(previewsDir, roomId)],
  })
  const boardSweeper = new BoardSweeper({
    admin,
    intervalMs: config.BOARD_SWEEP_INTERVAL_MS,
    log,
    tag: (roomId) => sync.tagRoom(roomId),
    policy: {
      trashMs: config.BOARD_TRASH_DAYS,
      retentionMs: config.BOARD_RETENTION_DAYS ?? null,
      isOpen: (roomId) => sync.rooms.get(roomId) !== undefined,
      deleted: (roomId) => {
        sync
          .boardChanged(roomId)
          .catch((err: unknown) => log.warn({ err, room: sync.tagRoom(roomId) }, 'could not close the connections of a retired board'))
      },
    },
  })
  sweeper = boardSweeper
  boardSweeper.start()
  opened.push(() => boardSweeper.stop())

  const rules: AddressRules = {
    proxyHops: config.TRUST_PROXY,
    publicUrl: config.PUBLIC_URL,
    allowedOrigins: config.ALLOWED_ORIGINS?.map((o) => new URL(o).origin),
  }
  const signer = new TokenSigner(secret)
  const links = new BoardLinks(signer, store.catalog)
  const connections = new AddressLimiter({
    burst: connectionBurst(config),
    perMinute: config.MAX_CONNECTIONS_PER_MINUTE,
    maxPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
    maxTotal: config.MAX_CONNECTIONS,
  })

  let next: Awaited<ReturnType<typeof openNext>> | null = null
  if (options.app) {
    next = await openNext(config, options.dev ?? false)
    opened.push(() => next?.close())
  }

  const serveAssets = options.assets ?? options.app
  // Previews go with the images: written by the app's editors, read by pages and oEmbed.
  const previews = serveAssets
    ? createPreviews({
        dir: previewsDir,
        maxBytes: config.MAX_PREVIEW_BYTES,
        perAddressBytes: config.MAX_UPLOAD_BYTES_PER_ADDRESS,
        minFreeDiskBytes: config.MIN_FREE_DISK_BYTES,
        links,
        catalog: store.catalog,
        address: (req) => clientAddress(req, rules),
        onError: (err) => log.error({ err }, 'preview request failed'),
      })
    : null
  const api: MaybeHandler[] = [
    (req, res) =>
      handleAccessApi(req, res, {
        describe: previews ? (roomId, viewToken) => previews.forBoard(roomId, viewToken) : undefined,
        links,
        linksReset: (roomId) => {
          sync
            .boardChanged(roomId)
            .catch((err: unknown) => log.warn({ err, room: sync.tagRoom(roomId) }, 'could not close the links of a reset board'))
        },
        originOf: (r) => requestOrigin(r, rules),
        onError: (err) => log.error({ err }, 'link request failed'),
      }),
    (req, res) => handleHistoryApi(req, res, { links, sync, catalog: store.catalog, rules: boardRules }),
  ]
  if (previews) api.push((req, res) => previews.handle(req, res))
  if (serveAssets) {
    const assets = createAssetHandler({
      dir: assetsDir,
      limits: uploadLimits(config),
      verify: (token) => links.verify(token),
      address: (req) => clientAddress(req, rules),
      onError: (err) => log.error({ err }, 'asset request failed'),
    })
    api.push(assets)
    if (config.ASSET_SWEEP_INTERVAL_MS > 0) {
      assetSweeps = scheduleAssetSweeps({
        dir: assetsDir,
        store,
        graceMs: config.UNUSED_ASSETS_GRACE_MS,
        intervalMs: config.ASSET_SWEEP_INTERVAL_MS,
        log,
        onDeleted: () => assets.recount(),
      })
      opened.push(() => assetSweeps?.stop())
    }
  }

  // Node checks header/request timeouts on this interval (30 s by default): keep it in step.
  const connectionsCheckingInterval = Math.min(30_000, Math.max(50, Math.floor(config.HANDSHAKE_TIMEOUT_MS / 4)))
  const router = createRouter({
    log,
    embedOrigins: config.EMBED_ORIGINS,
    health: () => sync.health(),
    metrics: (res) => metrics.serve(res, (err) => log.error({ err }, 'metrics failed')),
    api,
    publicOrigin: (req) => requestOrigin(req, rules),
    boardPage: previews ? (pathname) => previews.forPage(pathname) : undefined,
    next: next?.handle,
  })
  const server = http.createServer({ connectionsCheckingInterval }, router)
  capTcpConnections(server, {
    burst: connectionBurst(config),
    perMinute: config.MAX_CONNECTIONS_PER_MINUTE,
    maxPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
    maxTotal: config.MAX_CONNECTIONS,
    perAddress: !config.TRUST_PROXY,
  })
  // Clients that open TCP and never finish the HTTP request are dropped.
  server.headersTimeout = config.HANDSHAKE_TIMEOUT_MS
  server.requestTimeout = Math.max(config.HANDSHAKE_TIMEOUT_MS, 30_000)
  // Requests Node's parser refuses (raw non-ASCII paths, bad headers) get a reason too.
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    if (!socket.writable) return void socket.destroy()
    refuseUpgrade(socket, 400, `malformed HTTP request (${err.code ?? err.message}); room ids are plain ASCII`)
  })

  // Per-connection limits are the FrameMeter's (sync/); this is the backstop for every connection.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayload(config), perMessageDeflate: false })
  server.on(
    'upgrade',
    createUpgradeHandler({
      wss,
      sync,
      log,
      address: (req) => clientAddress(req, rules),
      policy: () => ({
        closing: sync.isClosing,
        originAllowed: (origin, host) => originAllowed(origin, host, rules),
        takeConnection: (address) => connections.admit(address),
        verify: (token) => signer.verify(token),
      }),
      next: next?.upgrade,
    }),
  )

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
  log.info({ proxyHops: rules.proxyHops }, describeOriginRule(rules))

  let closing: Promise<void> | null = null
  return {
    port,
    url,
    sync,
    http: server,
    sweepBoards: () => boardSweeper.sweepNow(),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await boardSweeper.stop()
        replicator?.stop()
        assetSweeps?.stop()
        await sync.close()
        // After the rooms unloaded: their last updates and cursor removals went out on the bus.
        await backends.close()
        wss.close()
        server.closeIdleConnections()
        await next?.close()
        server.closeAllConnections()
        await stopped
      })()
      return closing
    },
  }
}

/** The Next.js app, prepared: its request handler, its upgrade handler (development only), and its close. */
async function openNext(config: Config, dev: boolean) {
  const { default: nextJs } = await import('next')
  const app = nextJs({ dev, dir: ROOT, hostname: config.HOST, port: config.PORT })
  await app.prepare()
  return {
    handle: app.getRequestHandler() as (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
    upgrade: dev ? app.getUpgradeHandler() : undefined,
    close: () => app.close(),
  }
}
