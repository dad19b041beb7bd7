import type http from 'node:http'
import client from 'prom-client'
import type { AssetSweepStats } from './assetCollector'
import type { SyncServer } from '../sync/SyncServer'

/**
 * What the bus Replicator counts (its `ReplicatorStats`), for an instance that shares rooms
 * with others. Read when scraped.
 */
export interface BusCounters {
  /** Messages this instance published (updates, awareness, anti-entropy). */
  published: number
  /** Messages received from other instances. */
  received: number
  /** Heals: updates sent to a peer that anti-entropy found behind. */
  repairsSent: number
  /** Heals: catch-ups from the shared store that brought something the bus had lost. */
  storeCatchUps: number
  /** Cursors of other instances' clients removed because they stopped refreshing. */
  expiredAwareness: number
}

/** What the board sweep counts (the BoardSweeper's `SweepStats`). */
export interface BoardSweepCounters {
  sweeps: number
  errors: number
  trashed: number
  purged: number
  assetsDeleted: number
}

/** Counters beyond the sync server's own, each present only when something counts them. */
export interface MetricsSources {
  bus?: () => BusCounters
  boards?: () => BoardSweepCounters | null
  /** The unused-image sweeps (null while there are none). */
  assets?: () => AssetSweepStats | null
}

export interface Metrics {
  registry: client.Registry
  observeAppendSeconds: (seconds: number) => void
  /** Answers `GET /metrics`. */
  serve(res: http.ServerResponse, onError: (err: unknown) => void): void
}

/**
 * A Prometheus registry for one server. Counters read the server's plain Stats when
 * scraped, so the hot path never calls into prom-client. No series carries a room: a
 * room id is its edit capability, and per-room series would be unbounded anyway.
 *
 * @example
 * const metrics = createMetrics(() => syncServer, { bus: () => replicator.stats })
 */
export function createMetrics(getServer: () => SyncServer | null, sources: MetricsSources = {}): Metrics {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })

  const series = <T>(source: () => T | null, name: string, help: string, read: (s: T) => number, type: 'counter' | 'gauge') => {
    const Metric = type === 'counter' ? client.Counter : client.Gauge
    new Metric({
      name,
      help,
      registers: [registry],
      collect(this: client.Counter | client.Gauge) {
        const from = source()
        if (from === null) return
        const value = read(from)
        if (this instanceof client.Counter) {
          this.reset()
          this.inc(value)
        } else this.set(value)
      },
    })
  }
  const stat = (name: string, help: string, read: (s: SyncServer) => number, type: 'counter' | 'gauge') =>
    series(getServer, name, help, read, type)
  stat('sketchroom_rooms', 'Rooms loaded in memory', (s) => s.rooms.size, 'gauge')
  stat('sketchroom_connections', 'Open WebSocket connections', (s) => s.connectionCount, 'gauge')
  stat(
    'sketchroom_flush_interval_ms',
    'How often a busy board sends now (ms): FLUSH_INTERVAL_MS, up to FLUSH_INTERVAL_BUSY_MS while the server is busy',
    (s) => s.flushIntervalMs,
    'gauge',
  )
  stat('sketchroom_connections_opened_total', 'WebSocket connections accepted', (s) => s.stats.connectionsOpened, 'counter')
  stat('sketchroom_messages_in_total', 'Frames received from clients', (s) => s.stats.messagesIn, 'counter')
  stat('sketchroom_messages_out_total', 'Frames sent to clients', (s) => s.stats.messagesOut, 'counter')
  stat('sketchroom_bytes_in_total', 'Bytes received from clients', (s) => s.stats.bytesIn, 'counter')
  stat('sketchroom_bytes_out_total', 'Bytes sent to clients', (s) => s.stats.bytesOut, 'counter')
  stat(
    'sketchroom_store_append_errors_total',
    'Appends the store refused (the room paused and retried)',
    (s) => s.storeMonitor.appendErrors,
    'counter',
  )
  stat(
    'sketchroom_store_compaction_errors_total',
    'Compactions that failed (the log stayed as it was)',
    (s) => s.storeMonitor.compactErrors,
    'counter',
  )
  stat('sketchroom_rooms_unsaved', 'Rooms holding changes the store has not taken yet', (s) => s.storeMonitor.failingRooms, 'gauge')
  stat('sketchroom_inflight_bytes', 'Bytes of messages being received and handled', (s) => s.inflight.inUse, 'gauge')
  stat('sketchroom_inflight_waits_total', 'Messages that waited for room in MAX_INFLIGHT_BYTES', (s) => s.inflight.waited, 'counter')

  const { bus } = sources
  if (bus) {
    series(bus, 'sketchroom_bus_messages_out_total', 'Messages published to other instances', (b) => b.published, 'counter')
    series(bus, 'sketchroom_bus_messages_in_total', 'Messages received from other instances', (b) => b.received, 'counter')
    series(
      bus,
      'sketchroom_bus_heals_sent_total',
      'Updates sent to an instance that anti-entropy found behind',
      (b) => b.repairsSent,
      'counter',
    )
    series(
      bus,
      'sketchroom_bus_store_heals_total',
      'Catch-ups from the shared store that brought updates the bus had lost',
      (b) => b.storeCatchUps,
      'counter',
    )
    series(
      bus,
      'sketchroom_bus_expired_cursors_total',
      "Cursors of other instances' clients removed after they stopped refreshing",
      (b) => b.expiredAwareness,
      'counter',
    )
  }

  const { boards } = sources
  if (boards) {
    series(boards, 'sketchroom_board_sweeps_total', 'Board sweeps run (trash expiry and retention)', (b) => b.sweeps, 'counter')
    series(boards, 'sketchroom_board_sweep_errors_total', 'Board sweeps that failed', (b) => b.errors, 'counter')
    series(
      boards,
      'sketchroom_boards_trashed_total',
      'Boards the sweep moved to the trash (nobody opened them for BOARD_RETENTION_DAYS)',
      (b) => b.trashed,
      'counter',
    )
    series(
      boards,
      'sketchroom_boards_purged_total',
      'Boards the sweep purged (in the trash past BOARD_TRASH_DAYS)',
      (b) => b.purged,
      'counter',
    )
    series(
      boards,
      'sketchroom_board_assets_deleted_total',
      'Images deleted with purged boards (no other board used them)',
      (b) => b.assetsDeleted,
      'counter',
    )
  }

  const { assets } = sources
  if (assets) {
    series(assets, 'sketchroom_asset_sweeps_total', 'Sweeps for images no board or version uses', (a) => a.sweeps, 'counter')
    series(assets, 'sketchroom_assets_deleted_total', 'Images deleted because no board or version used them', (a) => a.deleted, 'counter')
    series(assets, 'sketchroom_assets_deleted_bytes_total', 'Bytes of the images deleted as unused', (a) => a.freedBytes, 'counter')
  }

  const append = new client.Histogram({
    name: 'sketchroom_store_append_seconds',
    help: 'Time to append one update to the store',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
    registers: [registry],
  })
  return {
    registry,
    observeAppendSeconds: (seconds) => append.observe(seconds),
    serve(res, onError) {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType })
          res.end(text)
        },
        (err: unknown) => {
          onError(err)
          res.writeHead(500).end()
        },
      )
    },
  }
}
