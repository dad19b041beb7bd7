import { atom, createTLStore, defaultShapeUtils, type TLAssetStore, type TLStore } from 'tldraw'
import { IndexeddbPersistence } from 'y-indexeddb'
import { removeAwarenessStates } from 'y-protocols/awareness'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { type BoardEvent, CloseCode, FEATURES_PARAM, isFinalCloseCode, STATUS_FEATURE } from '@/lib/protocol'
import { bindPresence } from './bindPresence'
import { bindStoreToDoc, checkSchema, META_KEY, RECORDS_KEY, SCHEMA_KEY, type Binding } from './bindStore'
import { encodeOnlyWhatIsSent, handleStatusMessages, sendOnlyOwnAwareness, takeOverReconnects } from './providerPatches'
import { mark } from './timing'
import { installFastStrings } from './yjsStrings'

/**
 * Whether this client is talking to the server right now; edits are kept either way.
 * `connecting` only while an attempt is in flight; between attempts, and whenever the
 * device has no network, `offline`.
 */
export type ConnectionState = 'online' | 'connecting' | 'offline'

/**
 * Whether the server can store changes. `paused` after it said so (a Status message) or
 * closed us with 1011 (it could not save a change; y-websocket keeps it and resends it
 * after reconnecting), until it says `ok` again.
 */
export type SavingState = 'ok' | 'paused'

/** Where one board connection is: what the page shows follows `status`. */
export type BoardState = (
  | { status: 'loading' }
  | {
      status: 'synced'
      store: TLStore
      doc: Y.Doc
      /** Writes to the doc outside the store (the title) in one transaction with the board's first records, if it has none yet. */
      write(change: () => void): void
    }
  | { status: 'error'; error: BoardError }
) & { connection: ConnectionState; saving: SavingState }

export type BoardError =
  /** The board was written by a newer version of the app: reloading fixes it. */
  | { kind: 'outdated'; message: string }
  /** The server refused us for good (e.g. a limit, an expired link); retrying would not help. */
  | { kind: 'refused'; message: string; code: number }
  | { kind: 'failed'; message: string }

/** The state before anything is known; {@link connectBoard} reports every change after it. */
export const INITIAL_BOARD_STATE: BoardState = { status: 'loading', connection: 'connecting', saving: 'ok' }

/** A copy of the doc kept on this device (IndexedDB in a browser). */
export interface LocalPersistence {
  /** Settles once the stored copy has been applied to the doc. */
  whenSynced: Promise<unknown>
  destroy(): unknown
  /**
   * Keeps one change the doc has applied (`origin`: its transaction's). A copy with it is
   * handed every change by the board; one without listens to the doc's updates itself.
   */
  keep?(update: Uint8Array, origin: unknown): void
  /** The origin of the transaction in which the copy applies what it had stored. */
  readonly origin?: unknown
}

/** What fires the browser's `online` and `offline` events: `window`. */
export type NetworkEvents = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

export interface ConnectBoardOptions {
  /** What follows `/sync/`: a room id, or a token the server resolves to a room. */
  room: string
  /**
   * A view-only board: tldraw goes read-only (its own collaboration mode) and nothing is
   * ever written to the doc. Presence (cursor, viewport) is still published.
   */
  readOnly?: boolean
  /** Where `/sync` lives (`http(s)://host`); defaults to this page's origin, and is required outside a browser. */
  origin?: string
  assets?: TLAssetStore
  /** How long to wait for the server before showing what this device has (offline). */
  serverWaitMs?: number
  /** The WebSocket class y-websocket opens; the browser's by default (Node passes `ws`'s). */
  WebSocket?: typeof globalThis.WebSocket
  /**
   * Keeps the doc on this device, so the board opens offline and fast. Defaults to
   * IndexedDB under `sketchroom:<room>`; `false` keeps nothing (the server is the only copy).
   */
  persistence?: ((name: string, doc: Y.Doc) => LocalPersistence) | false
  /** Whose `online`/`offline` events to follow; `window` in a browser, none elsewhere. */
  network?: NetworkEvents | null
  /** Hears what the server says happened to the board (someone restored a version), never after `dispose`. */
  onEvent?: (event: BoardEvent) => void
}

/** One open board; `dispose` closes the socket and frees everything it made. */
export interface BoardConnection {
  dispose(): void
}

/** y-websocket's own retry has no jitter; ours spreads reconnects after a server restart. */
const MAX_BACKOFF_MS = 5_000

/** The longest the socket waits for this device's copy of the board to be read. */
const LOCAL_COPY_WAIT_MS = 300

/** Changes this big (a board's whole state, a peer's big batch) are written when the page is idle. */
const BIG_UPDATE_BYTES = 64 * 1024

/**
 * y-indexeddb, handed the changes by the board instead of listening to the doc (so the
 * server's are stored as they came, never re-encoded), big ones once the page is idle:
 * the board is on screen first.
 *
 * Relies on `IndexeddbPersistence._storeUpdate(update, origin)`: its `update` listener,
 * which appends the update to the copy (and compacts the copy now and then).
 */
function indexedDbPersistence(name: string, doc: Y.Doc): LocalPersistence {
  const copy = new IndexeddbPersistence(name, doc)
  doc.off('update', copy._storeUpdate)
  let destroyed = false
  const idle = (task: () => void) =>
    typeof requestIdleCallback === 'function' ? requestIdleCallback(task, { timeout: 2_000 }) : setTimeout(task, 0)
  return {
    origin: copy,
    whenSynced: copy.whenSynced,
    destroy() {
      destroyed = true
      return copy.destroy()
    },
    keep(update, origin) {
      if (update.length < BIG_UPDATE_BYTES) copy._storeUpdate(update, origin)
      else idle(() => destroyed || copy._storeUpdate(update, origin))
    },
  }
}

/**
 * The whole life of one board connection, without React: a Y.Doc kept on this device and
 * synced over y-websocket, bound to a tldraw store, with presence in awareness. The board
 * is shown (`synced`) once both the local copy and the server's are in, or after
 * `serverWaitMs` with what this device has, so it opens offline too.
 *
 * `onState` hears every change after {@link INITIAL_BOARD_STATE}, never after `dispose`.
 * A final close code (44xx) ends in `{ status: 'error', error: { kind: 'refused' } }`
 * and no more attempts.
 *
 * @example
 * const board = connectBoard({ room: roomId }, (state) => {
 *   if (state.status === 'synced') render(state.store)
 * })
 * // when the page goes away
 * board.dispose()
 */
export function connectBoard(options: ConnectBoardOptions, onState: (state: BoardState) => void): BoardConnection {
  const { room, readOnly = false, assets, serverWaitMs = 1500, persistence = indexedDbPersistence } = options
  if (options.origin === undefined && typeof window === 'undefined') {
    throw new Error('connectBoard needs an origin outside a browser')
  }
  const origin = options.origin ?? window.location.origin
  // Before the first update is read: a board's strings decode (and encode) in half the time.
  installFastStrings()
  mark('connect')
  const network = options.network === undefined ? (typeof window === 'undefined' ? null : window) : options.network

  let disposed = false
  let connection: ConnectionState = INITIAL_BOARD_STATE.connection
  let saving: SavingState = INITIAL_BOARD_STATE.saving
  let current: BoardState = INITIAL_BOARD_STATE
  const set = (next: BoardState) => {
    if (disposed) return
    current = next
    onState(next)
  }
  // What tldraw's own UI (people menu, offline badge) reads.
  const $status = atom<'online' | 'offline'>('sketchroom connection', 'offline')
  const setConnection = (next: ConnectionState) => {
    if (next === connection) return
    connection = next
    $status.set(next === 'online' ? 'online' : 'offline')
    set({ ...current, connection })
  }
  const setSaving = (next: SavingState) => {
    if (next === saving) return
    saving = next
    set({ ...current, saving })
  }
  // The browser's word on the network; without one (Node), assume there is one.
  let networkUp = typeof navigator === 'undefined' || !network ? true : navigator.onLine !== false

  const doc = new Y.Doc()
  const local = persistence ? persistence(`sketchroom:${room}`, doc) : null
  const provider = new WebsocketProvider(`${origin.replace(/^http/, 'ws')}/sync`, room, doc, {
    maxBackoffTime: MAX_BACKOFF_MS,
    WebSocketPolyfill: options.WebSocket,
    // Ask for Status messages; a server without them ignores the parameter.
    params: { [FEATURES_PARAM]: STATUS_FEATURE },
    // Connects once the local copy is in (below): then the sync's state vectors carry it,
    // instead of the whole copy being encoded and uploaded as a change.
    connect: false,
    // No BroadcastChannel between this browser's tabs: y-websocket's sends the whole doc
    // on every connect (a board of 5,000 shapes: ~130 ms of encoding, and as long again
    // to decode in each other tab), and tabs already meet through the server, like any
    // two devices. Offline, each tab keeps its changes and they meet once online.
    disableBc: true,
  })
  const restoreAwareness = sendOnlyOwnAwareness(provider)
  const restoreUpdates = encodeOnlyWhatIsSent(provider, local?.keep ? (update, origin) => local.keep!(update, origin) : null, local?.origin)
  const reconnects = takeOverReconnects(provider, { maxBackoffMs: MAX_BACKOFF_MS, isOnline: () => networkUp })
  // Set by a Status message; a server that sends none clears a 1011 pause once it syncs.
  let serverSpeaksStatus = false
  handleStatusMessages(
    provider,
    (status) => {
      serverSpeaksStatus = true
      setSaving(status.saving)
    },
    (event) => {
      if (!disposed) options.onEvent?.(event)
    },
  )

  const store = createTLStore({
    shapeUtils: defaultShapeUtils,
    assets,
    collaboration: { status: $status, mode: readOnly ? atom('sketchroom mode', 'readonly' as const) : null },
  })

  let refused = false
  const onStatus = ({ status }: { status: 'connected' | 'disconnected' | 'connecting' }) =>
    setConnection(status === 'connected' ? 'online' : status === 'connecting' ? 'connecting' : 'offline')
  // y-websocket reports `disconnected` only for a socket that had opened; a failed attempt
  // just ends. Either way no attempt is in flight any more.
  const onConnectionClose = (event: { code: number; reason: string } | null) => {
    setConnection('offline')
    if (event?.code === CloseCode.InternalError) setSaving('paused')
  }
  const onSynced = (isSynced: boolean) => {
    if (isSynced) mark('synced')
    if (isSynced && !serverSpeaksStatus) setSaving('ok')
  }
  const onClosed = ({ code, reason }: { code: number; reason: string }) => {
    if (!isFinalCloseCode(code)) return
    refused = true
    reconnects.stop()
    set({
      status: 'error',
      connection: 'offline',
      saving,
      error: { kind: 'refused', code, message: reason || `The server closed the connection (${code}).` },
    })
  }
  provider.on('status', onStatus)
  provider.on('connection-close', onConnectionClose)
  provider.on('closed', onClosed)
  provider.on('sync', onSynced)
  // A socket can look open for a while after the network is gone; the browser knows
  // sooner. Drop it at once (edits carry on locally) and retry as soon as it is back.
  const onOffline = () => {
    networkUp = false
    reconnects.dropSocket()
    setConnection('offline')
  }
  const onOnline = () => {
    networkUp = true
    reconnects.retryNow()
  }
  network?.addEventListener('offline', onOffline)
  network?.addEventListener('online', onOnline)

  const hasCopyToShow = () =>
    doc.getArray(RECORDS_KEY).length > 0 && checkSchema(store, doc.getMap(META_KEY).get(SCHEMA_KEY)).kind === 'same'

  let binding: Binding | null = null
  let presence: { dispose(): void } | null = null
  let waitTimer: ReturnType<typeof setTimeout> | null = null

  const start = () => {
    // A refusal (expired link, limit) may come before the offline fallback fires.
    if (disposed || binding || refused) return
    mark('start')
    if (waitTimer) clearTimeout(waitTimer)
    waitTimer = null
    binding = bindStoreToDoc(store, doc, {
      readOnly,
      onOutdated: () => {
        presence?.dispose()
        presence = null
        set({
          status: 'error',
          connection,
          saving,
          error: {
            kind: 'outdated',
            message: 'This board was updated by a newer version of sketchroom. Reload the page to keep editing.',
          },
        })
      },
    })
    mark('bound')
    if (current.status === 'error') return
    presence = bindPresence(store, provider.awareness)
    const bound = binding
    set({ status: 'synced', connection, saving, store, doc, write: (change) => bound.write(change) })
  }

  // Show the board once both this device's copy and the server's are in, or, when the
  // server does not answer soon, with what this device has (offline use).
  let localReady = false
  const onSync = (synced: boolean) => {
    if (synced && localReady) start()
  }
  provider.on('sync', onSync)
  const localCopy = local ? local.whenSynced : Promise.resolve()
  // Connect when the copy is in, or after a short while if this device is slow to read it.
  let connectTimer: ReturnType<typeof setTimeout> | null = null
  let connecting = false
  const connectNow = () => {
    if (connectTimer) clearTimeout(connectTimer)
    connectTimer = null
    if (disposed || connecting) return
    connecting = true
    provider.connect()
  }
  connectTimer = setTimeout(connectNow, LOCAL_COPY_WAIT_MS)
  localCopy.then(connectNow, connectNow)
  localCopy.then(
    () => {
      if (disposed) return
      mark('local')
      localReady = true
      // A board this device has seen opens from its copy at once; the server's changes
      // follow as they come. Only a copy that would need migrating waits for the server,
      // which may know a newer schema than this client and the copy.
      if (provider.synced || hasCopyToShow()) start()
      else waitTimer = setTimeout(start, serverWaitMs)
    },
    (err: unknown) => {
      if (disposed) return
      console.warn('[sketchroom] IndexedDB unavailable; this board will not be kept offline', err)
      localReady = true
      waitTimer = setTimeout(start, serverWaitMs)
    },
  )

  return {
    dispose() {
      if (disposed) return
      disposed = true
      if (waitTimer) clearTimeout(waitTimer)
      if (connectTimer) clearTimeout(connectTimer)
      reconnects.dispose()
      presence?.dispose()
      binding?.dispose()
      network?.removeEventListener('offline', onOffline)
      network?.removeEventListener('online', onOnline)
      // Tell peers now, rather than after their awareness timeout, that we left.
      removeAwarenessStates(provider.awareness, [doc.clientID], 'sketchroom unmount')
      restoreAwareness()
      restoreUpdates()
      provider.off('status', onStatus)
      provider.off('connection-close', onConnectionClose)
      provider.off('closed', onClosed)
      provider.off('sync', onSynced)
      provider.off('sync', onSync)
      provider.destroy()
      void local?.destroy()
      doc.destroy()
      store.dispose()
    },
  }
}
