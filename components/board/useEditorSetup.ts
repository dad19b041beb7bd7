'use client'

import { useCallback, useMemo } from 'react'
import { computed, createTLCurrentUser, getUserPreferences, setUserPreferences, type Editor, type TLCurrentUser } from 'tldraw'
import { mark } from '@/components/sync/timing'
import type { EmbedOptions } from '@/lib/links'

declare global {
  interface Window {
    /** The live editor, for e2e tests and benchmarks that need exact assertions. */
    editor?: Editor
  }
}

function exposeEditor(editor: Editor) {
  window.editor = editor
  return () => {
    if (window.editor === editor) delete window.editor
  }
}

/**
 * The user tldraw draws with. An embed's `theme=` wins over the viewer's saved preference,
 * without overwriting that preference for their other boards. Without one, a viewer who
 * never picked a theme follows the system (tldraw's own default is light).
 */
function boardUser(theme: 'light' | 'dark' | null): TLCurrentUser {
  return createTLCurrentUser({
    userPreferences: computed('sketchroom user', () => {
      const prefs = getUserPreferences()
      return { ...prefs, colorScheme: theme ?? prefs.colorScheme ?? 'system' }
    }),
    setUserPreferences: (prefs) => setUserPreferences(theme ? { ...prefs, colorScheme: getUserPreferences().colorScheme } : prefs),
  })
}

/** Shows all of the board, but never magnified: one small sticky note stays note-sized. */
function fitContent(editor: Editor) {
  const bounds = editor.getCurrentPageBounds()
  if (bounds) editor.zoomToBounds(bounds, { targetZoom: 1 })
}

/**
 * An embed does not take the keyboard when its host page loads (autoFocus is off), so
 * it takes it when someone uses it, and gives it back when they click in the host page.
 */
function focusOnUse(editor: Editor): () => void {
  const container = editor.getContainer()
  const focus = () => {
    if (!editor.getIsFocused()) editor.focus()
  }
  const blur = () => {
    if (editor.getIsFocused()) editor.blur()
  }
  container.addEventListener('pointerdown', focus)
  window.addEventListener('blur', blur)
  return () => {
    container.removeEventListener('pointerdown', focus)
    window.removeEventListener('blur', blur)
  }
}

/**
 * What the editor needs from the page around it: the user (with an embed's theme) and
 * what to do on mount (expose it; in an embed, fit the content and take the keyboard
 * only when used).
 */
export function useEditorSetup(embed: EmbedOptions | null): { user: TLCurrentUser; onMount(editor: Editor): () => void } {
  const theme = embed?.theme ?? null
  const user = useMemo(() => boardUser(theme), [theme])
  const embedded = embed !== null
  const zoomToFit = embed?.zoomToFit ?? false
  const onMount = useCallback(
    (editor: Editor) => {
      mark('editor')
      const unexpose = exposeEditor(editor)
      // Once the viewport has its size: the content is in the store already (the board
      // mounts after the first sync).
      const frame = zoomToFit ? requestAnimationFrame(() => fitContent(editor)) : null
      const unfocus = embedded ? focusOnUse(editor) : () => {}
      return () => {
        if (frame !== null) cancelAnimationFrame(frame)
        unfocus()
        unexpose()
      }
    },
    [zoomToFit, embedded],
  )
  return { user, onMount }
}
