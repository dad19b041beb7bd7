'use client'

import { useId, useMemo, useState } from 'react'
import { TldrawUiButton, TldrawUiButtonLabel } from 'tldraw'
import { embedPath, embedQuery, iframeSnippet, parseLinkPath, type EmbedOptions } from '@/lib/links'
import { useCopy } from './useCopy'
import type { ShareLinks } from './useShareLinks'

type EmbedChoice = Pick<EmbedOptions, 'readonly' | 'ui' | 'zoomToFit' | 'theme'>

/** The `/embed/…` URL of a shared (absolute) link. */
function embedUrlOf(url: string, options: EmbedChoice): string {
  const parsed = new URL(url)
  const link = parseLinkPath(parsed.pathname)
  return link ? parsed.origin + embedPath(link) + embedQuery(options) : url
}

/** The iframe snippet for a link, its options, and a live preview of what it shows. */
export function EmbedSection({ links }: { links: ShareLinks }) {
  const copy = useCopy()
  const name = useId()
  const viewUrl = links.view?.status === 'ready' ? links.view.url : null
  const [which, setWhich] = useState<'edit' | 'view'>(links.edit ? 'edit' : 'view')
  const [options, setOptions] = useState<Omit<EmbedChoice, 'readonly'>>({ ui: true, zoomToFit: true, theme: null })
  // One choice, edit or view. View uses the view-only link where there is one (the server
  // then refuses every write); a page with only an edit link shows it read-only instead.
  const viewFromEdit = which === 'view' && !viewUrl
  const source = which === 'view' ? (viewUrl ?? links.edit) : links.edit
  const src = useMemo(() => (source ? embedUrlOf(source, { ...options, readonly: viewFromEdit }) : null), [source, options, viewFromEdit])
  const snippet = src ? iframeSnippet(src) : ''
  const set = (patch: Partial<Omit<EmbedChoice, 'readonly'>>) => setOptions((o) => ({ ...o, ...patch }))
  return (
    <section className="sr-share-section">
      <h3>Embed</h3>
      <p>Paste this into any page: the board stays live inside it.</p>
      <div className="sr-share-options" role="group" aria-label="Embed options">
        {links.edit ? (
          <span className="sr-share-choice" role="radiogroup" aria-label="Visitors of the page can">
            <span>Visitors can</span>
            <label>
              <input type="radio" name={name} checked={which === 'edit'} onChange={() => setWhich('edit')} data-testid="embed-edit" />
              edit
            </label>
            <label
              title={
                viewFromEdit
                  ? 'Shown read-only; the edit link is inside the page'
                  : 'Uses the view-only link: nobody can change the board from it'
              }
            >
              <input type="radio" name={name} checked={which === 'view'} onChange={() => setWhich('view')} data-testid="embed-view" />
              only view
            </label>
          </span>
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
            className="sr-select"
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
