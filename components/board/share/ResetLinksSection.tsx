'use client'

import { useState } from 'react'
import { TldrawUiButton, TldrawUiButtonLabel, useToasts } from 'tldraw'

/**
 * "Reset links": for a link that went further than it should. Every view-only, embed and
 * expiring link made so far stops working at once (people on the board through one are
 * disconnected); the board's own address, its edit link, keeps working. Asks once.
 */
export function ResetLinksSection({ reset }: { reset: () => Promise<void> }) {
  const { addToast } = useToasts()
  const [step, setStep] = useState<'idle' | 'confirm' | 'busy'>('idle')
  const [problem, setProblem] = useState<string | null>(null)
  const run = async () => {
    setStep('busy')
    setProblem(null)
    try {
      await reset()
      addToast({ title: 'Links reset', description: 'Earlier view-only, embed and expiring links no longer work.', severity: 'success' })
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err))
    } finally {
      setStep('idle')
    }
  }
  return (
    <section className="sr-share-section" aria-labelledby="sr-reset-links-title">
      <h3 id="sr-reset-links-title">Reset links</h3>
      <p>
        Shared a link too widely? Resetting makes every view-only, embed and expiring link of this board stop working, and disconnects
        whoever is using one. This page&apos;s address (the edit link) keeps working.
      </p>
      {step === 'idle' ? (
        <div className="sr-share-options">
          <TldrawUiButton type="normal" onClick={() => setStep('confirm')}>
            <TldrawUiButtonLabel>Reset links…</TldrawUiButtonLabel>
          </TldrawUiButton>
        </div>
      ) : (
        <div className="sr-share-options" role="group" aria-label="Confirm resetting the links">
          <span>Every link handed out so far stops working.</span>
          <TldrawUiButton type="danger" disabled={step === 'busy'} onClick={() => void run()}>
            <TldrawUiButtonLabel>{step === 'busy' ? 'Resetting…' : 'Reset links'}</TldrawUiButtonLabel>
          </TldrawUiButton>
          <TldrawUiButton type="normal" disabled={step === 'busy'} onClick={() => setStep('idle')}>
            <TldrawUiButtonLabel>Cancel</TldrawUiButtonLabel>
          </TldrawUiButton>
        </div>
      )}
      {problem ? <p role="alert">{problem}</p> : null}
    </section>
  )
}
