'use client'

import dynamic from 'next/dynamic'

// Like the board: tldraw renders in the browser only.
const LocalCanvas = dynamic(() => import('./LocalCanvas'), {
  ssr: false,
  loading: () => <div className="sr-loading">Opening…</div>,
})

export default function LocalCanvasLoader() {
  return <LocalCanvas />
}
