'use client'

import { TldrawUiButton, TldrawUiButtonLabel } from 'tldraw'

/** One link to hand out: the URL, selected on focus for a manual copy, and a Copy button. */
export function LinkRow({ id, label, url, onCopy }: { id: 'edit' | 'view'; label: string; url: string; onCopy(): void }) {
  return (
    <div className="sr-share-row">
      <input data-testid={`share-link-${id}`} readOnly value={url} onFocus={(e) => e.currentTarget.select()} aria-label={label} />
      <TldrawUiButton type="normal" data-testid={`share-copy-${id}`} onClick={onCopy}>
        <TldrawUiButtonLabel>Copy</TldrawUiButtonLabel>
      </TldrawUiButton>
    </div>
  )
}
