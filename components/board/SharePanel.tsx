'use client'

import { useEffect, useId, useMemo, useState } from 'react'
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
import { embedPath, embedQuery, iframeSnippet, pagePath, parseLinkPath, type BoardLink, type EmbedOptions } from '@/lib/links'
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
      title={
        connection === 'online' ? 'Changes are shared live' : 'Changes are kept in this browser and shared when the connection is back'
      }
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
    // still shows the text, selected on focus, for a manual copy.
    return false
  }
}

/** Copies, then says so in a toast; on failure says where to copy from instead. */
function useCopy() {
  const { addToast } = useToasts()
  return async (text: string, what: string) => {
    const copied = await copyText(text)
    addToast({
      title: copied ? `${what} copied` : `Copy the ${what.toLowerCase()} from the box`,
      severity: copied ? 'success' : 'warning',
    })
  }
}

/** The links this page can hand out, as absolute URLs. */
type ShareLinks = {
  edit: string | null
  view: { status: 'ready'; url: string } | { status: 'loading' } | { status: 'error'; message: string } | null
}

interface LinksResponse {
  edit?: unknown
  view?: unknown
  error?: unknown
}

/**
 * A room's page has its room id, so it can ask the server for a view-only link. A token's
 * page knows only its own link: handing out more than it was given would be an escalation
 * (and the server would refuse it).
 */
function useShareLinks(link: BoardLink): ShareLinks {
  const origin = window.location.origin
  const [view, setView] = useState<ShareLinks['view']>(() =>
    link.kind === 'room' ? { status: 'loading' } : link.page === 'view' ? { status: 'ready', url: origin + pagePath(link) } : null,
  )
  useEffect(() => {
    if (link.kind !== 'room') return
    const controller = new AbortController()
    fetch('/api/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roomId: link.roomId }),
      signal: controller.signal,
    })
      .then(async (res) => {
        const body = (await res.json().catch(() => ({}))) as LinksResponse
        if (!res.ok || typeof body.view !== 'string') {
          const reason = typeof body.error === 'string' ? body.error : `the server answered ${res.status}`
          throw new Error(`Could not make a view-only link: ${reason}.`)
        }
        setView({ status: 'ready', url: new URL(body.view, origin).href })
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return
        setView({ status: 'error', message: err instanceof Error ? err.message : String(err) })
      })
    return () => controller.abort()
  }, [link, origin])
  const edit = link.kind === 'room' || link.page === 'edit' ? origin + pagePath(link) : null
  return { edit, view }
}

function LinkRow({ id, label, url, onCopy }: { id: 'edit' | 'view'; label: string; url: string; onCopy(): void }) {
  return (
    <div className="sr-share-row">
      <input data-testid={`share-link-${id}`} readOnly value={url} onFocus={(e) => e.currentTarget.select()} aria-label={label} />
      <TldrawUiButton type="normal" data-testid={`share-copy-${id}`} onClick={onCopy}>
        <TldrawUiButtonLabel>Copy</TldrawUiButtonLabel>
      </TldrawUiButton>
    </div>
  )
}

type EmbedChoice = Pick<EmbedOptions, 'readonly' | 'ui' | 'zoomToFit' | 'theme'>

/** The `/embed/…` URL of a shared (absolute) link. */
function embedUrlOf(url: string, options: EmbedChoice): string {
  const parsed = new URL(url)
  const link = parseLinkPath(parsed.pathname)
  return link ? parsed.origin + embedPath(link) + embedQuery(options) : url
}

function EmbedSection({ links }: { links: ShareLinks }) {
  const copy = useCopy()
  const name = useId()
  const viewUrl = links.view?.status === 'ready' ? links.view.url : null
  const [which, setWhich] = useState<'edit' | 'view'>(links.edit ? 'edit' : 'view')
  const [options, setOptions] = useState<EmbedChoice>({ readonly: false, ui: true, zoomToFit: true, theme: null })
  const source = which === 'view' ? viewUrl : links.edit
  const src = useMemo(
    () => (source ? embedUrlOf(source, which === 'view' ? { ...options, readonly: false } : options) : null),
    [source, which, options],
  )
  const snippet = src ? iframeSnippet(src) : ''
  const set = (patch: Partial<EmbedChoice>) => setOptions((o) => ({ ...o, ...patch }))
  return (
    <section className="sr-share-section">
      <h3>Embed</h3>
      <p>Paste this into any page: the board stays live inside it.</p>
      <div className="sr-share-options" role="group" aria-label="Embed options">
        {links.edit && viewUrl ? (
          <span className="sr-share-choice">
            <label>
              <input type="radio" name={name} checked={which === 'edit'} onChange={() => setWhich('edit')} data-testid="embed-edit" />
              Editable
            </label>
            <label>
              <input type="radio" name={name} checked={which === 'view'} onChange={() => setWhich('view')} data-testid="embed-view" />
              View-only
            </label>
          </span>
        ) : null}
        {which === 'edit' ? (
          <label title="Visitors of the page see it live but cannot edit there; the link inside still can">
            <input type="checkbox" checked={options.readonly} onChange={(e) => set({ readonly: e.target.checked })} />
            Read-only
          </label>
        ) : null}
        <label>
          <input type="checkbox" checked={options.ui} onChange={(e) => set({ ui: e.target.checked })} />
          Toolbars
        </label>
        <label>
          <input type="checkbox" checked={options.zoomToFit} onChange={(e) => set({ zoomToFit: e.target.checked })} />
          Zoom to fit
        </label>
        <label>
          Theme{' '}
          <select
            value={options.theme ?? ''}
            onChange={(e) => set({ theme: e.target.value === 'light' || e.target.value === 'dark' ? e.target.value : null })}
          >
            <option value="">Viewer&apos;s</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
      </div>
      {src ? (
        <>
          <div className="sr-share-row">
            <textarea
              data-testid="share-snippet"
              readOnly
              rows={4}
              value={snippet}
              onFocus={(e) => e.currentTarget.select()}
              aria-label="Embed code"
            />
            <TldrawUiButton type="normal" data-testid="share-copy-snippet" onClick={() => copy(snippet, 'Embed code')}>
              <TldrawUiButtonLabel>Copy</TldrawUiButtonLabel>
            </TldrawUiButton>
          </div>
          {/* The real thing, not a picture: what the snippet will show, live. */}
          <iframe className="sr-share-preview" data-testid="share-preview" src={src} title="Embed preview" />
        </>
      ) : (
        <p>{links.view?.status === 'error' ? links.view.message : 'Making the link…'}</p>
      )}
    </section>
  )
}

function ShareDialog({ onClose }: TLUiDialogProps) {
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
      </TldrawUiDialogBody>
      <TldrawUiDialogFooter className="tlui-dialog__footer__actions">
        <TldrawUiButton type="primary" onClick={onClose}>
          <TldrawUiButtonLabel>Done</TldrawUiButtonLabel>
        </TldrawUiButton>
      </TldrawUiDialogFooter>
    </>
  )
}

/** Opens the dialog with every link this page may hand out. */
export function ShareButton() {
  const { addDialog } = useDialogs()
  return (
    <TldrawUiButton type="normal" className="sr-share-button" data-testid="share" onClick={() => addDialog({ component: ShareDialog })}>
      <TldrawUiButtonLabel>Share</TldrawUiButtonLabel>
    </TldrawUiButton>
  )
}

/** In an embed: the same board as a full page, in a new tab. */
export function OpenInAppLink() {
  const { link } = useBoard()
  return (
    <a className="sr-open-link" href={pagePath(link)} target="_blank" rel="noopener" data-testid="open-in-app">
      Open ↗
    </a>
  )
}
