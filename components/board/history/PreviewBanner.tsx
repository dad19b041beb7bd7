'use client'

import './history.css'
import { useState } from 'react'
import { TldrawUiButton, TldrawUiButtonLabel, useEditor, useValue } from 'tldraw'
import { useBoard } from '../BoardContext'
import type { HistoryController, PreviewState } from './HistoryController'
import { versionTime } from './versionTime'

/**
 * Over a version being shown: "Viewing 10:42 — Restore · Back to now". Restore asks once.
 * `where` says which editor it is in: the preview's once the version is there, the live
 * one while it loads or when it could not be opened.
 */
export function PreviewBanner({ where }: { where: 'live' | 'preview' }) {
  const { history } = useBoard()
  const preview = useValue('sketchroom history preview', () => history?.preview.get() ?? null, [history])
  if (!history || !preview || (preview.status === 'ready') !== (where === 'preview')) return null
  return <Banner key={preview.version.id} history={history} preview={preview} />
}

function Banner({ history, preview }: { history: HistoryController; preview: PreviewState }) {
  const editor = useEditor()
  const [step, setStep] = useState<'idle' | 'confirm' | 'busy'>('idle')
  const [problem, setProblem] = useState<string | null>(null)
  const time = versionTime(preview.version.createdAt)
  const restore = async () => {
    setStep('busy')
    setProblem(null)
    try {
      await history.restore(preview.version, editor.user.getName())
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err))
      setStep('idle')
    }
  }
  return (
    <div className="sr-history-banner" role="region" aria-label="Version preview" data-testid="history-banner">
      {preview.status === 'loading' ? (
        <span>Opening the version of {time}…</span>
      ) : preview.status === 'error' ? (
        <span role="alert">{preview.message}</span>
      ) : step === 'idle' ? (
        <span>
          Viewing {time}
          {preview.version.name ? ` (${preview.version.name})` : ''} <span aria-hidden>—</span>
        </span>
      ) : (
        <span>Make the board the version of {time} for everyone?</span>
      )}
      {preview.status === 'ready' && step === 'idle' ? (
        <>
          <TldrawUiButton type="primary" onClick={() => setStep('confirm')}>
            <TldrawUiButtonLabel>Restore</TldrawUiButtonLabel>
          </TldrawUiButton>
          <span aria-hidden>·</span>
        </>
      ) : null}
      {preview.status === 'ready' && step !== 'idle' ? (
        <>
          <TldrawUiButton type="danger" disabled={step === 'busy'} onClick={() => void restore()}>
            <TldrawUiButtonLabel>{step === 'busy' ? 'Restoring…' : 'Restore for everyone'}</TldrawUiButtonLabel>
          </TldrawUiButton>
          <TldrawUiButton type="normal" disabled={step === 'busy'} onClick={() => setStep('idle')}>
            <TldrawUiButtonLabel>Cancel</TldrawUiButtonLabel>
          </TldrawUiButton>
        </>
      ) : (
        <TldrawUiButton type="normal" onClick={() => history.backToNow()}>
          <TldrawUiButtonLabel>Back to now</TldrawUiButtonLabel>
        </TldrawUiButton>
      )}
      {problem ? <span role="alert">{problem}</span> : null}
    </div>
  )
}
