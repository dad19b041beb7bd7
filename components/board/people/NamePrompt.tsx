'use client'

import { useEffect, useState } from 'react'
import { useEditor } from 'tldraw'
import { whenIdle } from '../whenIdle'

const ASKED_KEY = 'sketchroom:asked-name'

function alreadyAsked(): boolean {
  try {
    return localStorage.getItem(ASKED_KEY) === '1'
  } catch {
    return true
  }
}

function rememberAsked() {
  try {
    localStorage.setItem(ASKED_KEY, '1')
  } catch {
    // Private mode without storage: the prompt simply comes back next time.
  }
}

/**
 * Once per browser, on the first board: what should others call you? Small and
 * skippable, never in the way of drawing; the people menu changes it any time later.
 */
export function NamePrompt() {
  const editor = useEditor()
  const [open, setOpen] = useState(false)
  const [name, setName] = useState('')
  useEffect(() => {
    // Asked once per browser: deciding on mount is enough. The question comes once the board
    // has been drawn and the page is idle: shown while a big board first paints, the prompt
    // made that paint ~90 ms slower (5,000 shapes), and the board is what the visitor came for.
    if (alreadyAsked() || editor.user.getName().trim()) return
    return whenIdle(() => setOpen(true), 3_000, 500)
  }, [editor])
  if (!open) return null
  const close = (save: boolean) => {
    rememberAsked()
    setOpen(false)
    const next = name.trim()
    if (save && next) editor.user.updateUserPreferences({ name: next.slice(0, 60) })
  }
  return (
    <form
      className="sr-name-prompt"
      data-testid="name-prompt"
      onSubmit={(e) => {
        e.preventDefault()
        close(true)
      }}
    >
      <label>
        What should others here call you?
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Your name"
          maxLength={60}
          data-testid="name-prompt-input"
          onKeyDown={(e) => {
            e.stopPropagation()
            if (e.key === 'Escape') close(false)
          }}
        />
      </label>
      <div className="sr-name-prompt__actions">
        <button type="button" onClick={() => close(false)}>
          Not now
        </button>
        <button type="submit" className="sr-name-prompt__save">
          Save
        </button>
      </div>
      <small>Change it, and your colour, any time in the people menu (top right).</small>
    </form>
  )
}
