'use client'

import { useEffect, useState } from 'react'
import { atom, createTLStore, defaultShapeUtils, type TLAssetStore, type TLStore } from 'tldraw'
import { IndexeddbPersistence } from 'y-indexeddb'
import { removeAwarenessStates } from 'y-protocols/awareness'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { isFinalCloseCode } from '@/lib/protocol'
import { bindPresence } from './bindPresence'
import { bindStoreToDoc } from './bindStore'

export type ConnectionState = 'online' | 'connecting' | 'offline'

export type YjsStoreState =
  | { status: 'loading'; connection: ConnectionState }
  | { status: 'synced'; connection: ConnectionState; store: TLStore; doc: Y.Doc }
  | { status: 'error'; connection: ConnectionState; error: BoardError }

export type BoardError =
  /** The board was written by a newer version of the app: reloading fixes it. */
  | { kind: 'outdated'; message: string }
  /** The server refused us for good (e.g. a limit, an expired link); retrying would not help. */
  | { kind: 'refused'; message: string; code: number }
  | { kind: 'failed'; message: string }

export interface YjsStoreOptions {
  /** What follows `/sync/`: a room id, or a token the server resolves to a room. */
  room: string
  /**
   * A view-only board: tldraw goes read-only (its own collaboration mode) and nothing is
   * ever written to the doc. Presence (cursor, viewport) is still published.
   */
  readOnly?: boolean
  /** Where `/sync` lives; defaults to this page's origin. */
  origin?: string
  assets?: TLAssetStore
  /** How long to wait for the server before showing what this browser has (offline). */
  serverWaitMs?: number
}

/** y-websocket's own retry has no jitter; ours spreads reconnects after a server restart. */
const MAX_BACKOFF_MS = 5_000

/**
 * The whole life of one board connection: a Y.Doc kept in IndexedDB and synced over
 * y-websocket, bound to a tldraw store, with presence in awareness. Everything is created
 * in an effect and destroyed on unmount, so StrictMode's mount–unmount–mount leaves one
 * socket, not two.
 *
 * @example
 * const state = useYjsStore({ room: roomId })
 * if (state.status === 'synced') return <Tldraw store={state.store} />
 */
export function useYjsStore(options: YjsStoreOptions): YjsStoreState {
  const { room, readOnly = false, origin, assets, serverWaitMs = 1500 } = options
  const [state, setState] = useState<YjsStoreState>({ status: 'loading', connection: 'connecting' })

  useEffect(() => {
    let disposed = false
    let connection: ConnectionState = 'connecting'
    let current: YjsStoreState = { status: 'loading', connection }
    const set = (next: YjsStoreState) => {
      if (disposed) return
      current = next
      setState(next)
    }
    // What tldraw's own UI (people menu, offline badge) reads.
    const $status = atom<'online' | 'offline'>('sketchroom connection', 'offline')
    const setConnection = (next: ConnectionState) => {
      connection = next
      $status.set(next === 'online' ? 'online' : 'offline')
      set({ ...current, connection })
    }

    const doc = new Y.Doc()
    const idb = new IndexeddbPersistence(`sketchroom:${room}`, doc)
    const base = (origin ?? window.location.origin).replace(/^http/, 'ws')
    const provider = new WebsocketProvider(`${base}/sync`, room, doc, { maxBackoffTime: MAX_BACKOFF_MS })
    // Stock y-websocket re-broadcasts every awareness change it hears, peers' included:
    // twice the traffic, and a strict server refuses states of clients that are not the
    // sender's. Send only our own; peers speak for themselves.
    const sendAllAwareness = provider._awarenessUpdateHandler
    provider.awareness.off('update', sendAllAwareness)
    const sendOwnAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      const own = doc.clientID
      if (added.includes(own) || updated.includes(own) || removed.includes(own)) {
        sendAllAwareness({ added: [], updated: [own], removed: [] }, origin)
      }
    }
    provider.awareness.on('update', sendOwnAwareness)

    const store = createTLStore({
      shapeUtils: defaultShapeUtils,
      assets,
      collaboration: { status: $status, mode: readOnly ? atom('sketchroom mode', 'readonly' as const) : null },
    })

    let reconnectTimer: ReturnType<typeof setTimeout> | null = null
    let refused = false
    const onStatus = ({ status }: { status: 'connected' | 'disconnected' | 'connecting' }) =>
      setConnection(status === 'connected' ? 'online' : status === 'connecting' ? 'connecting' : 'offline')
    const onConnectionClose = () => {
      if (disposed || refused || !provider.shouldConnect) return
      // Take the retry over from y-websocket (its fixed delay would make every client of
      // a restarted server come back in the same instant) and add jitter.
      provider.shouldConnect = false
      const ceiling = Math.min(2 ** provider.wsUnsuccessfulReconnects * 100, MAX_BACKOFF_MS)
      if (reconnectTimer) clearTimeout(reconnectTimer)
      reconnectTimer = setTimeout(
        () => {
          reconnectTimer = null
          if (!disposed && !refused) provider.connect()
        },
        ceiling / 2 + Math.random() * (ceiling / 2),
      )
    }
    const onClosed = ({ code, reason }: { code: number; reason: string }) => {
      if (!isFinalCloseCode(code)) return
      refused = true
      if (reconnectTimer) clearTimeout(reconnectTimer)
      set({
        status: 'error',
        connection: 'offline',
        error: { kind: 'refused', code, message: reason || `The server closed the connection (${code}).` },
      })
    }
    provider.on('status', onStatus)
    provider.on('connection-close', onConnectionClose)
    provider.on('closed', onClosed)
    // A socket can look open for a while after the network is gone; the browser knows
    // sooner. Drop it at once (edits carry on locally) and retry as soon as it is back.
    const onOffline = () => provider.ws?.close()
    const onOnline = () => {
      if (refused || provider.wsconnected) return
      if (reconnectTimer) clearTimeout(reconnectTimer)
      reconnectTimer = null
      provider.connect()
    }
    window.addEventListener('offline', onOffline)
    window.addEventListener('online', onOnline)

    let binding: { dispose(): void } | null = null
    let presence: { dispose(): void } | null = null

    const start = () => {
      // A refusal (expired link, limit) may come before the offline fallback fires.
      if (disposed || binding || refused) return
      binding = bindStoreToDoc(store, doc, {
        readOnly,
        onOutdated: () => {
          presence?.dispose()
          presence = null
          set({
            status: 'error',
            connection,
            error: {
              kind: 'outdated',
              message: 'This board was updated by a newer version of sketchroom. Reload the page to keep editing.',
            },
          })
        },
      })
      if (current.status === 'error') return
      presence = bindPresence(store, provider.awareness)
      set({ status: 'synced', connection, store, doc })
    }

    // Show the board once both this browser's copy and the server's are in, or, when the
    // server does not answer soon, with what this browser has (offline use).
    let waitTimer: ReturnType<typeof setTimeout> | null = null
    const onSync = (synced: boolean) => {
      if (synced && idbReady) start()
    }
    let idbReady = false
    provider.on('sync', onSync)
    idb.whenSynced.then(
      () => {
        idbReady = true
        if (provider.synced) start()
        else waitTimer = setTimeout(start, serverWaitMs)
      },
      (err: unknown) => {
        console.warn('[sketchroom] IndexedDB unavailable; this board will not be kept offline', err)
        idbReady = true
        waitTimer = setTimeout(start, serverWaitMs)
      },
    )

    return () => {
      disposed = true
      if (waitTimer) clearTimeout(waitTimer)
      if (reconnectTimer) clearTimeout(reconnectTimer)
      presence?.dispose()
      binding?.dispose()
      window.removeEventListener('offline', onOffline)
      window.removeEventListener('online', onOnline)
      // Tell peers now, rather than after their awareness timeout, that we left.
      removeAwarenessStates(provider.awareness, [doc.clientID], 'sketchroom unmount')
      provider.awareness.off('update', sendOwnAwareness)
      provider.off('status', onStatus)
      provider.off('connection-close', onConnectionClose)
      provider.off('closed', onClosed)
      provider.off('sync', onSync)
      provider.destroy()
      void idb.destroy()
      doc.destroy()
      store.dispose()
    }
  }, [room, readOnly, origin, assets, serverWaitMs])

  return state
}
