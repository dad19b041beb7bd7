'use client'

import './share.css'
import {
  TldrawUiButton,
  TldrawUiButtonLabel,
  TldrawUiDialogBody,
  TldrawUiDialogCloseButton,
  TldrawUiDialogFooter,
  TldrawUiDialogHeader,
  TldrawUiDialogTitle,
  type TLUiDialogProps,
} from 'tldraw'
import { useBoard } from '../BoardContext'
import { EmbedSection } from './EmbedSection'
import { LinkRow } from './LinkRow'
import { ResetLinksSection } from './ResetLinksSection'
import { useCopy } from './useCopy'
import { useShareLinks } from './useShareLinks'

/** Every link this page may hand out: edit, view-only and the embed snippet. */
export function ShareDialog({ onClose }: TLUiDialogProps) {
  const { link, expiresAt } = useBoard()
  const links = useShareLinks(link)
  const { edit, view } = links
  const copy = useCopy()
  const expiry = expiresAt ? new Date(expiresAt).toLocaleString() : null
  return (
    <>
      <TldrawUiDialogHeader>
        <TldrawUiDialogTitle>Share this board</TldrawUiDialogTitle>
        <TldrawUiDialogCloseButton />
      </TldrawUiDialogHeader>
      <TldrawUiDialogBody className="sr-share-dialog">
        {edit ? (
          <section className="sr-share-section">
            <h3>Edit link</h3>
            <p>
              Anyone with this link can see and change the board.
              {expiry ? ` It stops working on ${expiry}.` : ''}
            </p>
            <LinkRow id="edit" label="Edit link" url={edit} onCopy={() => copy(edit, 'Edit link')} />
          </section>
        ) : null}
        {view ? (
          <section className="sr-share-section">
            <h3>View-only link</h3>
            <p>
              Anyone with this link sees the board and everyone&apos;s cursors live, and cannot change anything.
              {expiry && !edit ? ` It stops working on ${expiry}.` : ''}
            </p>
            {view.status === 'ready' ? (
              <LinkRow id="view" label="View-only link" url={view.url} onCopy={() => copy(view.url, 'View-only link')} />
            ) : view.status === 'loading' ? (
              <p data-testid="share-link-view-loading">Making a view-only link…</p>
            ) : (
              <p role="alert">{view.message}</p>
            )}
          </section>
        ) : null}
        <EmbedSection links={links} />
        {links.resetLinks ? <ResetLinksSection reset={links.resetLinks} /> : null}
      </TldrawUiDialogBody>
      <TldrawUiDialogFooter className="tlui-dialog__footer__actions">
        <TldrawUiButton type="primary" onClick={onClose}>
          <TldrawUiButtonLabel>Done</TldrawUiButtonLabel>
        </TldrawUiButton>
      </TldrawUiDialogFooter>
    </>
  )
}
