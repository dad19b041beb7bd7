'use client'

import { useEffect, useState } from 'react'
import { useEditor, useValue } from 'tldraw'

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
  const savedName = useValue('sketchroom user name', () => editor.user.getName(), [editor])
  const [open, setOpen] = useState(false)
  const [name, setName] = useState('')
  useEffect(() => {
    if (!alreadyAsked() && !savedName.trim()) setOpen(true)
    // Asked once per browser: deciding on mount is enough.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])
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
