'use client'

import './history.css'
import { useState } from 'react'
import { createPortal } from 'react-dom'
import { TldrawUiButton, TldrawUiButtonLabel, useEditor, useValue } from 'tldraw'
import { useBoard } from '../BoardContext'
import type { HistoryController, VersionSummary } from './HistoryController'
import { dayHeading, groupByDay, versionTime } from './versionTime'

const REASONS: Record<string, string> = {
  quiet: 'after a pause',
  periodic: 'while people kept editing',
  left: 'last person left',
  'before-restore': 'before a restore',
  restored: 'restored',
  named: 'named',
}

export const reasonLabel = (reason: string) => REASONS[reason] ?? reason
const shapeCount = (n: number) => (n === 1 ? '1 shape' : `${n.toLocaleString('en')} shapes`)

/**
 * The History panel, on the right over the canvas. It is rendered in whichever editor is on
 * screen (`where`): the live one, or the preview's while a version is shown, so it stays
 * usable to pick another version. It sits in the editor's container, above tldraw's own
 * panels and with its theme.
 */
export function HistoryPanel({ where }: { where: 'live' | 'preview' }) {
  const { history } = useBoard()
  const editor = useEditor()
  const open = useValue('sketchroom history open', () => history?.open.get() ?? false, [history])
  const previewing = useValue('sketchroom history previewing', () => history?.preview.get()?.status === 'ready', [history])
  if (!history || !open || previewing !== (where === 'preview')) return null
  return createPortal(<PanelContent history={history} />, editor.getContainer())
}

function PanelContent({ history }: { history: HistoryController }) {
  const editor = useEditor()
  const state = useValue('sketchroom history versions', () => history.versions.get(), [history])
  const shown = useValue('sketchroom history preview id', () => history.preview.get()?.version.id ?? null, [history])
  const versions = state.status === 'loading' ? [] : state.versions
  const now = Date.now()
  const show = (version: VersionSummary) => void history.show(version, { camera: editor.getCamera(), pageId: editor.getCurrentPageId() })
  return (
    <aside className="sr-history" id="sr-history-panel" data-testid="history-panel" aria-label="History">
      <header className="sr-history__header">
        <h2>History</h2>
        <button type="button" className="sr-history__close" aria-label="Close history" onClick={() => history.close()}>
          ×
        </button>
      </header>
      <NameVersion history={history} />
      <p className="sr-history__note">
        Click a version to see it; nothing changes until you restore it. Names are the ones people chose for themselves.
      </p>
      {state.status === 'error' ? <p role="alert">{state.message}</p> : null}
      {state.status === 'loading' ? <p>Loading the history…</p> : null}
      {state.status === 'ready' && versions.length === 0 ? (
        <p>No versions yet. A version is kept once the board has changed and then been quiet for a moment.</p>
      ) : null}
      <div className="sr-history__list" data-testid="history-list">
        {groupByDay(versions).map((group) => (
          <section key={group.day} className="sr-history__day" aria-label={dayHeading(group.versions[0]!.createdAt, now)}>
            <h3>{dayHeading(group.versions[0]!.createdAt, now)}</h3>
            {group.versions.map((v) => (
              <VersionRow key={v.id} version={v} now={now} current={v.id === shown} onShow={() => show(v)} />
            ))}
          </section>
        ))}
      </div>
    </aside>
  )
}

function VersionRow({ version, now, current, onShow }: { version: VersionSummary; now: number; current: boolean; onShow(): void }) {
  const named = version.name !== undefined
  const time = versionTime(version.createdAt, now)
  return (
    <button
      type="button"
      className={`sr-version${named ? ' sr-version--named' : ''}`}
      data-testid="history-version"
      data-version-id={version.id}
      aria-current={current ? 'true' : undefined}
      onClick={onShow}
    >
      {named ? <span className="sr-version__name">★ {version.name}</span> : null}
      <span className="sr-version__line">
        <span className="sr-version__time">{time}</span>
        <span className="sr-version__reason">{reasonLabel(version.reason)}</span>
        <span className="sr-version__shapes">{shapeCount(version.shapes)}</span>
      </span>
      {version.editors.length ? (
        <span className="sr-version__editors" title="The names these people chose for themselves: not checked identities">
          Self-chosen names: {version.editors.join(', ')}
        </span>
      ) : null}
    </button>
  )
}

/** "Name this version": keeps the board as it is now under a name, for good. */
function NameVersion({ history }: { history: HistoryController }) {
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  const save = async () => {
    if (!name.trim() || busy) return
    setBusy(true)
    setProblem(null)
    try {
      await history.nameVersion(name.trim())
      setName('')
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form
      className="sr-history__name"
      onSubmit={(e) => {
        e.preventDefault()
        void save()
      }}
    >
      <input
        aria-label="Version name"
        placeholder="e.g. Kick-off"
        maxLength={100}
        value={name}
        onChange={(e) => setName(e.target.value)}
        data-testid="history-name-input"
      />
      <TldrawUiButton type="normal" disabled={busy || !name.trim()} onClick={() => void save()}>
        <TldrawUiButtonLabel>{busy ? 'Saving…' : 'Name this version'}</TldrawUiButtonLabel>
      </TldrawUiButton>
      {problem ? <p role="alert">{problem}</p> : null}
    </form>
  )
}
