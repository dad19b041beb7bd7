'use client'

import type { ReactNode } from 'react'
import { PeopleMenu, type TLComponents } from 'tldraw'
import { ConnectionIndicator } from './ConnectionIndicator'
import { OpenInAppLink } from './share/OpenInAppLink'
import { ShareButton } from './share/ShareButton'
import { TitleField } from './TitleField'
import { useAssetErrorToasts } from './useAssetErrorToasts'

/** The right of the top bar: connection, people, and one action of the page's own. */
function ShareZone({ children }: { children: ReactNode }) {
  useAssetErrorToasts()
  return (
    <div className="sr-share-zone">
      <ConnectionIndicator />
      <PeopleMenu />
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
  SharePanel: BoardSharePanel,
  TopPanel: BoardTopPanel,
}
/** A board inside someone else's page. */
export const EMBED_COMPONENTS: TLComponents = {
  SharePanel: EmbedSharePanel,
}
