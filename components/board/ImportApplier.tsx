'use client'

import { useEffect, useRef } from 'react'
import { useEditor, useToasts } from 'tldraw'
import { applyImport, takeImport } from '@/components/home/boardImport'
import { useBoard } from './BoardContext'

/**
 * Fills a board made by "Open a file" on the home page with the file's records, once,
 * as soon as the board is open for editing. Renders nothing.
 */
export function ImportApplier() {
  const editor = useEditor()
  const { link, readOnly, empty, setTitle } = useBoard()
  const { addToast } = useToasts()
  const started = useRef(false)
  const roomId = link.kind === 'room' ? link.roomId : null
  useEffect(() => {
    if (started.current || !roomId || readOnly || !empty) return
    const board = takeImport(roomId)
    if (!board) return
    started.current = true
    applyImport(editor, board).then(
      () => {
        if (board.title) setTitle(board.title)
      },
      (err: unknown) => {
        console.warn('[sketchroom] could not open the file', err)
        addToast({ title: 'Could not open the file', description: 'Some of its content is not valid here.', severity: 'error' })
      },
    )
  }, [editor, roomId, readOnly, empty, setTitle, addToast])
  return null
}
