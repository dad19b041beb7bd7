/**
 * The one place that reaches into y-websocket's `WebsocketProvider` past its documented
 * API. Each patch names the internal it relies on, so a y-websocket upgrade (these are
 * written against 3.x) is checked here and nowhere else.
 */
import * as decoding from 'lib0/decoding'
import type { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import { MessageType, SyncType, type BoardEvent, type BoardStatus } from '@/lib/protocol'

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] }

/**
 * Makes the provider send only this client's awareness state. Stock y-websocket
 * re-broadcasts every awareness change it hears, peers' included: twice the traffic, and a
 * strict server (ours) refuses states of clients that are not the sender's. Peers speak
 * for themselves.
 *
 * Relies on `provider._awarenessUpdateHandler`: the listener the provider puts on its
 * awareness in its constructor, which encodes and sends the clients it is given. It is
 * taken off and called with our own client id only.
 *
 * Returns the undo, which takes our listener off again; call it after the last awareness
 * change that should still reach the server (such as removing our own state on leave).
 *
 * @example
 * const restore = sendOnlyOwnAwareness(provider)
 * // on teardown, after removeAwarenessStates(provider.awareness, [doc.clientID], 'left')
 * restore()
 */
export function sendOnlyOwnAwareness(provider: WebsocketProvider): () => void {
  const { awareness } = provider
  const sendAll = provider._awarenessUpdateHandler
  awareness.off('update', sendAll)
  const sendOwn = ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
    const own = awareness.clientID
    if (added.includes(own) || updated.includes(own) || removed.includes(own)) {
      sendAll({ added: [], updated: [own], removed: [] }, origin)
    }
  }
  awareness.on('update', sendOwn)
  return () => awareness.off('update', sendOwn)
}

export interface ReconnectOptions {
  /** Longest wait between two attempts; the same cap y-websocket is given as `maxBackoffTime`. */
  maxBackoffMs: number
  /**
   * Whether the device has a network. While it has none, no attempt is made (it could only
   * fail, or hang until the browser gives up); `retryNow` starts one when it is back.
   */
  isOnline?: () => boolean
}

/** Control over the retries after {@link takeOverReconnects}. */
export interface Reconnects {
  /** Never retry again (the server refused us for good); cancels a retry already planned. */
  stop(): void
  /** The network is back: try now, not at the end of the current backoff. */
  retryNow(): void
  /** The network is gone: drop the socket now; the retry follows as after any close. */
  dropSocket(): void
  /** Stops listening to the provider and cancels a planned retry. */
  dispose(): void
}

/**
 * Replaces y-websocket's retry with the same exponential backoff plus jitter. Its own
 * fixed delay would make every client of a restarted server come back in the same instant.
 *
 * Relies on:
 * - `provider.shouldConnect`: set to false on each close, which turns the retry y-websocket
 *   has just scheduled into a no-op; `provider.connect()` (public) sets it again.
 * - `provider.wsUnsuccessfulReconnects`: y-websocket's count of failed attempts (reset on
 *   sync), so the backoff grows exactly as it would have.
 * - `provider.wsconnected` and `provider.ws`: whether a socket is up, and the socket itself,
 *   to retry at once when the network returns and to close a socket the browser knows is
 *   dead while it still looks open.
 *
 * @example
 * const reconnects = takeOverReconnects(provider, { maxBackoffMs: 5_000 })
 * provider.on('closed', () => reconnects.stop())
 * // on teardown
 * reconnects.dispose()
 */
export function takeOverReconnects(provider: WebsocketProvider, options: ReconnectOptions): Reconnects {
  const { maxBackoffMs, isOnline = () => true } = options
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = false
  let disposed = false
  const cancel = () => {
    if (timer) clearTimeout(timer)
    timer = null
  }

  const onConnectionClose = () => {
    if (disposed || stopped || !provider.shouldConnect) return
    provider.shouldConnect = false
    const ceiling = Math.min(2 ** provider.wsUnsuccessfulReconnects * 100, maxBackoffMs)
    cancel()
    timer = setTimeout(
      () => {
        timer = null
        if (!disposed && !stopped && isOnline()) provider.connect()
      },
      ceiling / 2 + Math.random() * (ceiling / 2),
    )
  }
  provider.on('connection-close', onConnectionClose)

  return {
    stop() {
      stopped = true
      cancel()
    },
    retryNow() {
      if (disposed || stopped || provider.wsconnected) return
      cancel()
      provider.connect()
    },
    dropSocket() {
      provider.ws?.close()
    },
    dispose() {
      disposed = true
      cancel()
      provider.off('connection-close', onConnectionClose)
    },
  }
}

/** A `restored` event as the server sends it, or null for anything else. */
function restoredEvent(parsed: unknown): BoardEvent | null {
  const restored = (parsed as { restored?: unknown } | null)?.restored as { by?: unknown; versionCreatedAt?: unknown } | undefined
  if (typeof restored !== 'object' || restored === null) return null
  const { by, versionCreatedAt } = restored
  if ((by !== null && typeof by !== 'string') || typeof versionCreatedAt !== 'number' || !Number.isFinite(versionCreatedAt)) return null
  return { restored: { by, versionCreatedAt } }
}

/**
 * Reads sketchroom's Status messages (`MessageType.Status`: varString(JSON `BoardStatus` or
 * `BoardEvent`)), which the server sends only to clients that connect with
 * `?features=status`. Anything malformed is ignored with a warning: a status line must
 * never break the sync.
 *
 * Relies on `provider.messageHandlers`: y-websocket's per-provider table of handlers by
 * message type (a copy of the module's, made in the constructor), called as
 * `(encoder, decoder, provider, emitSynced, messageType)`. Nothing is written to the
 * encoder, so nothing is sent back.
 *
 * @example
 * handleStatusMessages(provider, (status) => console.log(status.saving), (event) => console.log(event.restored.by))
 */
export function handleStatusMessages(
  provider: WebsocketProvider,
  onStatus: (status: BoardStatus) => void,
  onEvent: (event: BoardEvent) => void = () => {},
): void {
  provider.messageHandlers[MessageType.Status] = (_encoder, decoder) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(decoding.readVarString(decoder))
    } catch (err) {
      console.warn('[sketchroom] ignored a malformed status message', err)
      return
    }
    const saving = (parsed as { saving?: unknown } | null)?.saving
    const event = restoredEvent(parsed)
    if (saving === 'ok' || saving === 'paused') onStatus({ saving })
    else if (event) onEvent(event)
    else console.warn('[sketchroom] ignored a status message it does not understand', parsed)
  }
}

/**
 * Has Yjs encode a change only when someone needs the bytes. Yjs encodes every
 * transaction of a doc that has an `update` listener, and the provider has one (to send
 * this client's changes) even though it skips the changes that came from the server. So a
 * board of 5,000 shapes was encoded once more right after it was decoded, and every peer's
 * batch again on arrival. Here the listener is on the doc only for transactions that did
 * not come from the server; those from the server are kept (`keep`) as the bytes that
 * arrived.
 *
 * `keep` hears every change once: this client's own as Yjs encoded them (with the
 * transaction's origin), the server's as received (origin `provider`).
 *
 * Relies on:
 * - `provider._updateHandler`: the provider's `update` listener, which sends what did not
 *   come from the provider itself; it is taken off the doc and called from here.
 * - `provider.messageHandlers[0]` (Sync): reads a sync message and applies its update with
 *   the provider as the transaction's origin. Ours reads the same message first, without
 *   moving the provider's decoder, to keep the update of a step 2 or an update message.
 *
 * Returns the undo.
 *
 * @example
 * const restore = encodeOnlyWhatIsSent(provider, (update) => copy.keep(update))
 */
export function encodeOnlyWhatIsSent(
  provider: WebsocketProvider,
  keep: ((update: Uint8Array, origin: unknown) => void) | null,
  /**
   * The origin of the transaction that applies the local copy, which the copy does not
   * keep again: encoded only when it is sent, i.e. when a socket or another tab is
   * connected (otherwise the next sync's state vectors carry it).
   */
  copyOrigin?: unknown,
): () => void {
  const { doc } = provider
  const send = provider._updateHandler
  doc.off('update', send)
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === provider) return
    send(update, origin)
    keep?.(update, origin)
  }
  let listening = false
  const listen = (on: boolean) => {
    if (on === listening) return
    listening = on
    if (on) doc.on('update', onUpdate)
    else doc.off('update', onUpdate)
  }
  listen(true)
  const unsent = (origin: unknown) =>
    origin === provider || (copyOrigin !== undefined && origin === copyOrigin && !provider.wsconnected && !provider.bcconnected)
  // Decided per transaction at `afterTransactionCleanup`, which Yjs emits right before it
  // looks for `update` listeners. Deciding when a transaction begins is not enough:
  // observers open transactions of their own while the server's is being cleaned up
  // (y-utility's YKeyValue does on every change), and their start would put the listener
  // back just in time for the server's change to be encoded after all.
  const beforeCheck = (transaction: Y.Transaction) => listen(!unsent(transaction.origin))
  doc.on('afterTransactionCleanup', beforeCheck)

  const readSync = provider.messageHandlers[MessageType.Sync]!
  provider.messageHandlers[MessageType.Sync] = (encoder, decoder, p, emitSynced, messageType) => {
    const peek = decoding.clone(decoder)
    const kind = decoding.readVarUint(peek)
    readSync(encoder, decoder, p, emitSynced, messageType)
    if (keep && (kind === SyncType.Step2 || kind === SyncType.Update)) keep(decoding.readVarUint8Array(peek), provider)
  }
  return () => {
    doc.off('afterTransactionCleanup', beforeCheck)
    listen(false)
    provider.messageHandlers[MessageType.Sync] = readSync
    doc.on('update', send)
  }
}
