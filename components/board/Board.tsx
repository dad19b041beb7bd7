'use client'

import 'tldraw/tldraw.css'
import './board.css'
import { memo, useCallback, useEffect, useMemo, useRef } from 'react'
import { Tldraw, useValue } from 'tldraw'
import { wasCreatedHere } from '@/components/home/createdHere'
import { rememberBoard } from '@/components/home/recentBoards'
import { createAssetStore, DEFAULT_ASSET_LIMITS } from '@/components/sync/assetStore'
import { useBoardIsEmpty } from '@/components/sync/useBoardIsEmpty'
import { useBoardTitle } from '@/components/sync/useBoardTitle'
import { useYjsStore } from '@/components/sync/useYjsStore'
import { type BoardEvent, CloseCode } from '@/lib/protocol'
import { syncName, type BoardLink, type EmbedOptions } from '@/lib/links'
import { BoardContext, type BoardContextValue } from './BoardContext'
import { preloadPdfLibrary } from './boardFiles'
import { exportOverrides } from './exportName'
import { HistoryController } from './history/HistoryController'
import { HistoryPreview } from './history/HistoryPreview'
import { LinkProblem } from './LinkProblem'
import { APP_COMPONENTS, EMBED_COMPONENTS } from './panels'
import { TLDRAW_ASSET_URLS } from './tldrawAssets'
import { useAssetLimits } from './useAssetLimits'
import { useEditorSetup } from './useEditorSetup'
import { usePageTitle } from './usePageTitle'

const licenseKey = process.env.NEXT_PUBLIC_TLDRAW_LICENSE_KEY || undefined
// Module-level: tldraw rebuilds its asset utils, and with them the whole editor, when
// these arrays change identity.
const NO_VIDEOS: readonly string[] = []
/**
 * The editor, re-rendered only when its own props change. The board's state (connection,
 * saving, title, emptiness) changes while a big board mounts, and each change re-rendered
 * the whole editor from the top; our pieces inside it read that state from BoardContext.
 */
const Editor = memo(Tldraw)

/** How often an open History panel asks for new versions. */
const HISTORY_REFRESH_MS = 15_000

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
  const limits = useAssetLimits()

  const boardEventRef = useRef<((event: BoardEvent) => void) | null>(null)
  const onEvent = useCallback((event: BoardEvent) => boardEventRef.current?.(event), [])
  const state = useYjsStore({ room, readOnly, assets, onEvent })
  // History is for those who may edit: the API refuses view links, and an embed is someone else's page.
  const embedded = embed !== null
  const history = useMemo(() => (readOnly || embedded ? null : new HistoryController(room)), [readOnly, embedded, room])
  useEffect(() => () => history?.dispose(), [history])
  const historyOpen = useValue('sketchroom history open', () => history?.open.get() ?? false, [history])
  useEffect(() => {
    if (!history || !historyOpen) return
    const timer = setInterval(() => void history.refresh(), HISTORY_REFRESH_MS)
    return () => clearInterval(timer)
  }, [history, historyOpen])
  const preview = useValue('sketchroom history preview', () => history?.preview.get() ?? null, [history])
  const doc = state.status === 'synced' ? state.doc : null
  const [title, setTitle] = useBoardTitle(doc, state.status === 'synced' ? state.write : null)
  const empty = useBoardIsEmpty(doc)
  const createdHere = useMemo(() => link.kind === 'room' && wasCreatedHere(link.roomId), [link])
  // Exports are named after the title at the moment they run; the overrides stay one object.
  const titleRef = useRef(title)
  useEffect(() => {
    titleRef.current = title
  }, [title])
  const overrides = useMemo(() => exportOverrides(() => titleRef.current), [])
  // The PDF library is not part of the board's start; it follows once the board shows.
  const shown = doc !== null
  useEffect(() => (shown ? preloadPdfLibrary() : undefined), [shown])

  usePageTitle(`${title || 'Untitled board'} · sketchroom`)
  // The app's own pages go in the recent list (an embed is someone else's page): an edit
  // page by its room id, a view page by its view link.
  const recentId = link.kind === 'room' && !embed ? link.roomId : null
  useEffect(() => {
    if (recentId) rememberBoard({ kind: 'room', roomId: recentId }, doc ? title : undefined)
  }, [recentId, doc, title])
  // A view link's room is not known here: it is remembered by its link, as view-only.
  const viewToken = link.kind === 'token' && readOnly && !embed ? link.token : null
  useEffect(() => {
    if (viewToken) rememberBoard({ kind: 'token', token: viewToken, page: 'view' }, doc ? title : undefined)
  }, [viewToken, doc, title])

  const context = useMemo<BoardContextValue | null>(
    () =>
      doc
        ? {
            link,
            readOnly,
            expiresAt,
            doc,
            connection: state.connection,
            saving: state.saving,
            imageLimits: limits ?? DEFAULT_ASSET_LIMITS,
            empty,
            createdHere,
            title,
            setTitle,
            notifyRef,
            boardEventRef,
            history,
          }
        : null,
    [link, readOnly, expiresAt, doc, state.connection, state.saving, limits, empty, createdHere, title, setTitle, history],
  )

  const { user, onMount } = useEditorSetup(embed)

  if (state.status === 'loading' || !limits) {
    return <div className="sr-board-message">Opening the board…</div>
  }
  // A link that no longer works, or a board in the trash: said in words, with no Reload that cannot help.
  if (
    state.status === 'error' &&
    state.error.kind === 'refused' &&
    (state.error.code === CloseCode.Unauthorized || state.error.code === CloseCode.Gone)
  ) {
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
        <Editor
          store={state.store}
          components={embed ? EMBED_COMPONENTS : APP_COMPONENTS}
          overrides={overrides}
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
        {preview?.status === 'ready' ? (
          <HistoryPreview
            versionId={preview.version.id}
            store={preview.store}
            view={preview.view}
            user={user}
            assetUrls={TLDRAW_ASSET_URLS}
            licenseKey={licenseKey}
          />
        ) : null}
      </div>
    </BoardContext.Provider>
  )
}
