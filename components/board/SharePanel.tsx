'use client'

import { useEffect } from 'react'
import {
  TldrawUiButton,
  TldrawUiButtonLabel,
  TldrawUiDialogBody,
  TldrawUiDialogCloseButton,
  TldrawUiDialogFooter,
  TldrawUiDialogHeader,
  TldrawUiDialogTitle,
  useDialogs,
  useToasts,
  type TLUiDialogProps,
} from 'tldraw'
import { useBoard } from './BoardContext'

const CONNECTION_LABEL = { online: 'Online', connecting: 'Connecting…', offline: 'Offline' } as const

/** Whether this browser is talking to the server right now; edits are kept either way. */
export function ConnectionIndicator() {
  const { connection } = useBoard()
  return (
    <span
      className={`sr-connection sr-connection--${connection}`}
      data-testid="connection"
      data-state={connection}
      title={connection === 'online' ? 'Changes are shared live' : 'Changes are kept in this browser and shared when the connection is back'}
    >
      <span className="sr-connection__dot" aria-hidden />
      {CONNECTION_LABEL[connection]}
    </span>
  )
}

/** Routes asset upload errors to tldraw's toasts, which only exist inside its UI. */
export function useAssetErrorToasts() {
  const { notifyRef } = useBoard()
  const { addToast } = useToasts()
  useEffect(() => {
    notifyRef.current = (message) => addToast({ title: 'Image not added', description: message, severity: 'error' })
    return () => {
      notifyRef.current = null
    }
  }, [notifyRef, addToast])
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // No clipboard API outside secure contexts (plain HTTP on a LAN address): the dialog
    // still shows the link, selected, for a manual copy.
    return false
  }
}

function ShareDialog({ onClose }: TLUiDialogProps) {
  const link = typeof window === 'undefined' ? '' : window.location.href
  const { addToast } = useToasts()
  return (
    <>
      <TldrawUiDialogHeader>
        <TldrawUiDialogTitle>Share this board</TldrawUiDialogTitle>
        <TldrawUiDialogCloseButton />
      </TldrawUiDialogHeader>
      <TldrawUiDialogBody className="sr-share-dialog">
        {/* Each way to share is a section; view-only links and embeds will join this one. */}
        <section>
          <h3>Edit link</h3>
          <p>Anyone with this link can see and edit the board.</p>
          <input data-testid="share-link" readOnly value={link} onFocus={(e) => e.currentTarget.select()} aria-label="Board link" />
        </section>
      </TldrawUiDialogBody>
      <TldrawUiDialogFooter className="tlui-dialog__footer__actions">
        <TldrawUiButton
          type="primary"
          onClick={async () => {
            const copied = await copyText(link)
            addToast({
              title: copied ? 'Link copied' : 'Copy the link from the box',
              severity: copied ? 'success' : 'warning',
            })
            if (copied) onClose()
          }}
        >
          <TldrawUiButtonLabel>Copy link</TldrawUiButtonLabel>
        </TldrawUiButton>
      </TldrawUiDialogFooter>
    </>
  )
}

/** Copies the board link straight away and opens the dialog that shows it. */
export function ShareButton() {
  const { addToast } = useToasts()
  const { addDialog } = useDialogs()
  return (
    <TldrawUiButton
      type="normal"
      className="sr-share-button"
      data-testid="share"
      onClick={async () => {
        const copied = await copyText(window.location.href)
        if (copied) addToast({ title: 'Link copied', description: 'Anyone with the link can edit this board.', severity: 'success' })
        addDialog({ component: ShareDialog })
      }}
    >
      <TldrawUiButtonLabel>Share</TldrawUiButtonLabel>
    </TldrawUiButton>
  )
}
