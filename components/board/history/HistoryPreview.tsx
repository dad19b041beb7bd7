'use client'

import { Tldraw, type Editor, type TLComponents, type TLCurrentUser, type TLPageId, type TLStore } from 'tldraw'
import type { PreviewView } from './HistoryController'
import { HistoryPanel } from './HistoryPanel'
import { PreviewBanner } from './PreviewBanner'

function PreviewOverlays() {
  return (
    <>
      <PreviewBanner where="preview" />
      <HistoryPanel where="preview" />
    </>
  )
}

// Module-level, like every prop tldraw compares by identity.
const PREVIEW_COMPONENTS: TLComponents = { InFrontOfTheCanvas: PreviewOverlays }

export interface HistoryPreviewProps {
  versionId: string
  store: TLStore
  view: PreviewView
  user: TLCurrentUser
  assetUrls: Parameters<typeof Tldraw>[0]['assetUrls']
  licenseKey: string | undefined
}

/**
 * A version, shown read-only over the live board by an editor of its own: its store is the
 * version's records and nothing else, bound to no doc and no socket, so nothing done here
 * can reach the live board or the server. The live board keeps receiving changes
 * underneath and is back as it is now on "Back to now".
 */
export function HistoryPreview({ versionId, store, view, user, assetUrls, licenseKey }: HistoryPreviewProps) {
  const onMount = (editor: Editor) => {
    const pageId = view.pageId as TLPageId | null
    if (pageId && editor.getPage(pageId)) editor.setCurrentPage(pageId)
    editor.setCamera(view.camera, { immediate: true })
  }
  return (
    <div className="sr-history-preview" data-testid="history-preview" data-version-id={versionId}>
      <Tldraw
        key={versionId}
        store={store}
        hideUi
        components={PREVIEW_COMPONENTS}
        user={user}
        assetUrls={assetUrls}
        licenseKey={licenseKey}
        onMount={onMount}
      />
    </div>
  )
}
