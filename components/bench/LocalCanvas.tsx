'use client'

import 'tldraw/tldraw.css'
import '../board/board.css'
import { useState } from 'react'
import { createTLStore, defaultShapeUtils, loadSnapshot, Tldraw, type Editor, type TLStoreSnapshot } from 'tldraw'
import { mark } from '@/components/sync/timing'
import { TLDRAW_ASSET_URLS } from '../board/tldrawAssets'

declare global {
  var __sketchroomBenchSnapshot: TLStoreSnapshot | undefined
}

const licenseKey = process.env.NEXT_PUBLIC_TLDRAW_LICENSE_KEY || undefined

function onMount(editor: Editor) {
  mark('editor')
  window.editor = editor
}

/**
 * tldraw alone, as bench/client.ts measures it: the snapshot the bench put in the page
 * (`window.__sketchroomBenchSnapshot`, before any script ran) loaded with tldraw's own
 * `loadSnapshot`, no Yjs, no server, nothing kept. Without a snapshot it shows nothing.
 */
export default function LocalCanvas() {
  const [store] = useState(() => {
    const snapshot = globalThis.__sketchroomBenchSnapshot
    if (!snapshot) return null
    mark('connect')
    const store = createTLStore({ shapeUtils: defaultShapeUtils })
    loadSnapshot(store, snapshot)
    mark('load')
    return store
  })
  if (!store) return <div className="sr-board-message">Nothing here: this page only shows what a benchmark hands it.</div>
  return (
    <div className="sr-board">
      <Tldraw store={store} assetUrls={TLDRAW_ASSET_URLS} licenseKey={licenseKey} onMount={onMount} />
    </div>
  )
}
