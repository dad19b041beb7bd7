'use client'

import dynamic from 'next/dynamic'

// tldraw measures the window and talks to IndexedDB: render it in the browser only.
const Board = dynamic(() => import('@/components/board/Board'), {
  ssr: false,
  loading: () => <div className="sr-loading">Opening the board…</div>,
})

export default function BoardClient({ roomId }: { roomId: string }) {
  return <Board roomId={roomId} />
}
