'use client'

import { TldrawUiButton, TldrawUiButtonLabel, useDialogs } from 'tldraw'
import { ShareDialog } from './ShareDialog'

/** Opens the dialog with every link this page may hand out. */
export function ShareButton() {
  const { addDialog } = useDialogs()
  return (
    <TldrawUiButton type="normal" className="sr-share-button" data-testid="share" onClick={() => addDialog({ component: ShareDialog })}>
      <TldrawUiButtonLabel>Share</TldrawUiButtonLabel>
    </TldrawUiButton>
  )
}
