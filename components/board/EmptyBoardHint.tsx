'use client'

import { useBoard } from './BoardContext'

/** Over the canvas of a board nobody has drawn on yet (it goes with the first change). */
export function EmptyBoardHint() {
  const { empty, createdHere } = useBoard()
  if (!empty || createdHere) return null
  return (
    <div className="sr-empty-board" role="note" data-testid="empty-board">
      This board is empty — if someone sent you this link, check that it is complete.
    </div>
  )
}
