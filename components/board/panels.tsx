'use client'

import type { ReactNode } from 'react'
import type { TLComponents } from 'tldraw'
import { useBoard } from './BoardContext'
import { BoardMainMenu } from './BoardMainMenu'
import { ConnectionIndicator } from './ConnectionIndicator'
import { EmptyBoardHint } from './EmptyBoardHint'
import { HistoryButton } from './history/HistoryButton'
import { HistoryPanel } from './history/HistoryPanel'
import { PreviewBanner } from './history/PreviewBanner'
import { useLiveEditorAside } from './history/useLiveEditorAside'
import { useRestoreToasts } from './history/useRestoreToasts'
import { ImportApplier } from './ImportApplier'
import { NamePrompt } from './people/NamePrompt'
import { PeopleRecorder } from './people/PeopleRecorder'
import { FollowingBanner, PeopleMenu } from './people/PeopleMenu'
import { PreviewUploader } from './PreviewUploader'
import { OpenInAppLink } from './share/OpenInAppLink'
import { ShareButton } from './share/ShareButton'
import { TitleField } from './TitleField'
import { useAssetErrorToasts } from './useAssetErrorToasts'
import { useImageCheck } from './useImageCheck'

/** The right of the top bar: connection, people, History where the page may edit, and one action of the page's own. */
function ShareZone({ children }: { children: ReactNode }) {
  const { history } = useBoard()
  useAssetErrorToasts()
  useRestoreToasts()
  useImageCheck()
  return (
    <div className="sr-share-zone" data-testid="share-zone">
      <ConnectionIndicator />
      <PeopleMenu />
      {history ? <HistoryButton history={history} /> : null}
      {children}
    </div>
  )
}

function BoardSharePanel() {
  return (
    <ShareZone>
      <ShareButton />
    </ShareZone>
  )
}

function BoardTopPanel() {
  return <TitleField />
}

/** Over the canvas, never in the way of drawing: hints, whom you follow, and the History panel. */
function BoardOverlays() {
  useLiveEditorAside(useBoard().history)
  return (
    <>
      <EmptyBoardHint />
      <FollowingBanner />
      <NamePrompt />
      <ImportApplier />
      <PreviewUploader />
      <PeopleRecorder />
      <HistoryPanel where="live" />
      <PreviewBanner where="live" />
    </>
  )
}

function EmbedOverlays() {
  return (
    <>
      <EmptyBoardHint />
      <FollowingBanner />
      <PreviewUploader />
    </>
  )
}

/** Inside an iframe: no title, no share button; the host page is the chrome. */
function EmbedSharePanel() {
  return (
    <ShareZone>
      <OpenInAppLink />
    </ShareZone>
  )
}

// Module-level, like every prop tldraw compares by identity.
/** The app's own board page: title on top, connection, people and Share on the right. */
export const APP_COMPONENTS: TLComponents = {
  MainMenu: BoardMainMenu,
  SharePanel: BoardSharePanel,
  TopPanel: BoardTopPanel,
  InFrontOfTheCanvas: BoardOverlays,
}
/** A board inside someone else's page. */
export const EMBED_COMPONENTS: TLComponents = {
  SharePanel: EmbedSharePanel,
  InFrontOfTheCanvas: EmbedOverlays,
}
