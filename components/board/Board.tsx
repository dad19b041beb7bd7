'use client'

import 'tldraw/tldraw.css'
import './board.css'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import {
  computed,
  createTLCurrentUser,
  getUserPreferences,
  PeopleMenu,
  setUserPreferences,
  Tldraw,
  type Editor,
  type TLComponents,
  type TLCurrentUser,
} from 'tldraw'
import { rememberBoard } from '@/components/home/recentBoards'
import { createAssetStore, DEFAULT_ASSET_LIMITS, fetchAssetLimits, type AssetLimits } from '@/components/sync/assetStore'
import { useBoardTitle } from '@/components/sync/useBoardTitle'
import { useYjsStore } from '@/components/sync/useYjsStore'
import { CloseCode } from '@/lib/protocol'
import { syncName, type BoardLink, type EmbedOptions } from '@/lib/links'
import { BoardContext, type BoardContextValue } from './BoardContext'
import { LinkProblem } from './LinkProblem'
import { ConnectionIndicator, OpenInAppLink, ShareButton, useAssetErrorToasts } from './SharePanel'
import { TitleField } from './TitleField'
import { TLDRAW_ASSET_URLS } from './tldrawAssets'

declare global {
  interface Window {
    /** The live editor, for e2e tests and benchmarks that need exact assertions. */
    editor?: Editor
  }
}

function BoardSharePanel() {
  useAssetErrorToasts()
  return (
    <div className="sr-share-zone">
      <ConnectionIndicator />
      <PeopleMenu />
      <ShareButton />
    </div>
  )
}

function BoardTopPanel() {
  return <TitleField />
}

/** Inside an iframe: no title, no share button; the host page is the chrome. */
function EmbedSharePanel() {
  useAssetErrorToasts()
  return (
    <div className="sr-share-zone">
      <ConnectionIndicator />
      <PeopleMenu />
      <OpenInAppLink />
    </div>
  )
}

// Module-level, like every prop tldraw compares by identity.
const APP_COMPONENTS: TLComponents = {
  SharePanel: BoardSharePanel,
  TopPanel: BoardTopPanel,
}
const EMBED_COMPONENTS: TLComponents = {
  SharePanel: EmbedSharePanel,
}

const licenseKey = process.env.NEXT_PUBLIC_TLDRAW_LICENSE_KEY || undefined
// Module-level: tldraw rebuilds its asset utils, and with them the whole editor, when
// these arrays change identity.
const NO_VIDEOS: readonly string[] = []

function exposeEditor(editor: Editor) {
  window.editor = editor
  return () => {
    if (window.editor === editor) delete window.editor
  }
}

/**
 * An embed's `theme=` wins over the viewer's saved preference (which tldraw would
 * otherwise prefer), without overwriting that preference for their other boards.
 */
function themedUser(theme: 'light' | 'dark'): TLCurrentUser {
  return createTLCurrentUser({
    userPreferences: computed('sketchroom themed user', () => ({ ...getUserPreferences(), colorScheme: theme })),
    setUserPreferences: (prefs) => setUserPreferences({ ...prefs, colorScheme: getUserPreferences().colorScheme }),
  })
}

/** Shows all of the board, but never magnified: one small sticky note stays note-sized. */
function fitContent(editor: Editor) {
  const bounds = editor.getCurrentPageBounds()
  if (bounds) editor.zoomToBounds(bounds, { targetZoom: 1 })
}

/**
 * An embed does not take the keyboard when its host page loads (autoFocus is off), so
 * it takes it when someone uses it, and gives it back when they click in the host page.
 */
function focusOnUse(editor: Editor): () => void {
  const container = editor.getContainer()
  const focus = () => {
    if (!editor.getIsFocused()) editor.focus()
  }
  const blur = () => {
    if (editor.getIsFocused()) editor.blur()
  }
  container.addEventListener('pointerdown', focus)
  window.addEventListener('blur', blur)
  return () => {
    container.removeEventListener('pointerdown', focus)
    window.removeEventListener('blur', blur)
  }
}

export interface BoardProps {
  link: BoardLink
  /** Whether this page may edit; the server enforces it for view tokens regardless. */
  readOnly?: boolean
  expiresAt?: number | null
  /** Set on `/embed/…` pages: no app chrome, and the embed's query options. */
  embed?: EmbedOptions | null
}

/** One board, full screen: the tldraw editor bound to the room's Y.Doc. */
export default function Board({ link, readOnly = false, expiresAt = null, embed = null }: BoardProps) {
  const notifyRef = useRef<((message: string) => void) | null>(null)
  const room = syncName(link)
  const assets = useMemo(
    () => createAssetStore({ board: room, onError: (message) => (notifyRef.current ? notifyRef.current(message) : console.warn(message)) }),
    [room],
  )
  // Known before the editor mounts: changing them later would rebuild the editor.
  const [limits, setLimits] = useState<AssetLimits | null>(null)
  useEffect(() => {
    const controller = new AbortController()
    fetchAssetLimits(controller.signal).then(setLimits, (err: unknown) => {
      if (controller.signal.aborted) return
      console.warn('[sketchroom] using default image limits', err)
      setLimits(DEFAULT_ASSET_LIMITS)
    })
    return () => controller.abort()
  }, [])

  const state = useYjsStore({ room, readOnly, assets })
  const doc = state.status === 'synced' ? state.doc : null
  const [title, setTitle] = useBoardTitle(doc)

  useEffect(() => {
    document.title = `${title || 'Untitled board'} · sketchroom`
  }, [title])
  // Only the app's own edit pages go in the recent list: a token's room is not known
  // here, and an embed is someone else's page.
  const recentId = link.kind === 'room' && !embed ? link.roomId : null
  useEffect(() => {
    if (recentId) rememberBoard(recentId, doc ? title : undefined)
  }, [recentId, doc, title])

  const context = useMemo<BoardContextValue | null>(
    () => (doc ? { link, readOnly, expiresAt, doc, connection: state.connection, title, setTitle, notifyRef } : null),
    [link, readOnly, expiresAt, doc, state.connection, title, setTitle],
  )

  const theme = embed?.theme ?? null
  const user = useMemo(() => (theme ? themedUser(theme) : undefined), [theme])
  const embedded = embed !== null
  const zoomToFit = embed?.zoomToFit ?? false
  const onMount = useCallback(
    (editor: Editor) => {
      const unexpose = exposeEditor(editor)
      // Once the viewport has its size: the content is in the store already (the board
      // mounts after the first sync).
      const frame = zoomToFit ? requestAnimationFrame(() => fitContent(editor)) : null
      const unfocus = embedded ? focusOnUse(editor) : () => {}
      return () => {
        if (frame !== null) cancelAnimationFrame(frame)
        unfocus()
        unexpose()
      }
    },
    [zoomToFit, embedded],
  )

  if (state.status === 'loading' || !limits) {
    return <div className="sr-board-message">Opening the board…</div>
  }
  if (state.status === 'error' && state.error.kind === 'refused' && state.error.code === CloseCode.Unauthorized) {
    return <LinkProblem message={state.error.message} embedded={Boolean(embed)} />
  }
  if (state.status === 'error') {
    return (
      <div className="sr-board-message" role="alert">
        <p>{state.error.message}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    )
  }
  return (
    <BoardContext.Provider value={context}>
      <div className="sr-board" data-readonly={readOnly ? 'true' : undefined}>
        <Tldraw
          store={state.store}
          components={embed ? EMBED_COMPONENTS : APP_COMPONENTS}
          hideUi={embed ? !embed.ui : false}
          // An embed must not pull the focus (and the keyboard) away from its host page.
          autoFocus={!embed}
          user={user}
          assetUrls={TLDRAW_ASSET_URLS}
          licenseKey={licenseKey}
          maxAssetSize={limits.maxBytes}
          acceptedImageMimeTypes={limits.types}
          acceptedVideoMimeTypes={NO_VIDEOS}
          onMount={onMount}
        />
      </div>
    </BoardContext.Provider>
  )
}
