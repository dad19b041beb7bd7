'use client'

import 'tldraw/tldraw.css'
import './board.css'
import { useEffect, useMemo, useRef, useState } from 'react'
import { PeopleMenu, Tldraw, type Editor, type TLComponents } from 'tldraw'
import { rememberBoard } from '@/components/home/recentBoards'
import { createAssetStore, DEFAULT_ASSET_LIMITS, fetchAssetLimits, type AssetLimits } from '@/components/sync/assetStore'
import { useBoardTitle } from '@/components/sync/useBoardTitle'
import { useYjsStore } from '@/components/sync/useYjsStore'
import { BoardContext, type BoardContextValue } from './BoardContext'
import { ConnectionIndicator, ShareButton, useAssetErrorToasts } from './SharePanel'
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

const components: TLComponents = {
  SharePanel: BoardSharePanel,
  TopPanel: BoardTopPanel,
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

/** One board, full screen: the tldraw editor bound to the room's Y.Doc. */
export default function Board({ roomId }: { roomId: string }) {
  const notifyRef = useRef<((message: string) => void) | null>(null)
  const assets = useMemo(
    () => createAssetStore({ onError: (message) => (notifyRef.current ? notifyRef.current(message) : console.warn(message)) }),
    [],
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

  const state = useYjsStore({ roomId, assets })
  const doc = state.status === 'synced' ? state.doc : null
  const [title, setTitle] = useBoardTitle(doc)

  useEffect(() => {
    document.title = `${title || 'Untitled board'} · sketchroom`
  }, [title])
  useEffect(() => {
    rememberBoard(roomId, doc ? title : undefined)
  }, [roomId, doc, title])

  const context = useMemo<BoardContextValue | null>(
    () => (doc ? { roomId, doc, connection: state.connection, title, setTitle, notifyRef } : null),
    [roomId, doc, state.connection, title, setTitle],
  )

  if (state.status === 'loading' || !limits) {
    return <div className="sr-board-message">Opening the board…</div>
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
      <div className="sr-board">
        <Tldraw
          store={state.store}
          components={components}
          assetUrls={TLDRAW_ASSET_URLS}
          licenseKey={licenseKey}
          maxAssetSize={limits.maxBytes}
          acceptedImageMimeTypes={limits.types}
          acceptedVideoMimeTypes={NO_VIDEOS}
          onMount={exposeEditor}
        />
      </div>
    </BoardContext.Provider>
  )
}
