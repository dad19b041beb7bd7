'use client'

import { useEffect, useRef } from 'react'
import { useEditor, type Editor } from 'tldraw'
import { setBoardPreview } from '@/components/home/recentBoards'
import { ASSET_BOARD_HEADER } from '@/lib/assets'
import { PREVIEWS_PATH, syncName } from '@/lib/links'
import { useBoard } from './BoardContext'

/** The preview's size: a card on the home page, an unfurl in a chat app. */
export const PREVIEW_WIDTH = 640
export const PREVIEW_HEIGHT = 400
/** A preview is rendered once the board has been quiet this long after a change… */
const QUIET_MS = 2_000
/** …and at most this often. */
const MIN_INTERVAL_MS = 30_000
const MARGIN = 24
/** tldraw's light canvas, for a board with nothing on it. */
const EMPTY_BACKGROUND = '#f9fafb'

/**
 * The current page, fitted into a fixed-size picture, by tldraw's own image export
 * (always the light theme, so every card looks alike). WebP where the browser encodes it,
 * else PNG.
 */
export async function renderPreview(editor: Editor): Promise<Blob> {
  const canvas = document.createElement('canvas')
  canvas.width = PREVIEW_WIDTH
  canvas.height = PREVIEW_HEIGHT
  const ctx = canvas.getContext('2d')!
  const ids = [...editor.getCurrentPageShapeIds()]
  const bounds = editor.getCurrentPageBounds()
  ctx.fillStyle = EMPTY_BACKGROUND
  ctx.fillRect(0, 0, PREVIEW_WIDTH, PREVIEW_HEIGHT)
  if (ids.length && bounds) {
    // Fit, margin included (tldraw pads in page units, before scaling), but magnify a small drawing at most twice.
    const scale = Math.min(PREVIEW_WIDTH / (Math.max(bounds.w, 1) + 2 * MARGIN), PREVIEW_HEIGHT / (Math.max(bounds.h, 1) + 2 * MARGIN), 2)
    const { blob } = await editor.toImage(ids, { format: 'png', background: true, darkMode: false, scale, pixelRatio: 1, padding: MARGIN })
    const image = await createImageBitmap(blob)
    // The export's own background fills the card around it.
    ctx.drawImage(image, 0, 0, 1, 1, 0, 0, 1, 1)
    const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data
    ctx.fillStyle = `rgb(${r}, ${g}, ${b})`
    ctx.fillRect(0, 0, PREVIEW_WIDTH, PREVIEW_HEIGHT)
    const w = Math.min(image.width, PREVIEW_WIDTH)
    const h = Math.min(image.height, PREVIEW_HEIGHT)
    ctx.drawImage(image, (image.width - w) / 2, (image.height - h) / 2, w, h, (PREVIEW_WIDTH - w) / 2, (PREVIEW_HEIGHT - h) / 2, w, h)
    image.close()
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('could not encode the preview'))), 'image/webp', 0.85),
  )
}

/**
 * Keeps the board's preview on the server up to date from this editor: after this user's
 * changes, once the board has been quiet for a moment, at most every 30 s. Only an edit
 * page uploads (the server takes a preview only with an edit capability); the answer is
 * the preview's URL, made of the board's view link, which the recent list keeps.
 */
export function PreviewUploader() {
  const editor = useEditor()
  const { link, readOnly, empty } = useBoard()
  // A board nobody has changed is not stored: it gets no preview either.
  const emptyRef = useRef(empty)
  useEffect(() => {
    emptyRef.current = empty
  }, [empty])
  const board = syncName(link)
  const roomId = link.kind === 'room' ? link.roomId : null
  useEffect(() => {
    if (readOnly) return
    let timer: ReturnType<typeof setTimeout> | null = null
    let dirty = false
    let busy = false
    let last = 0
    let disposed = false
    const schedule = () => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => void run(), Math.max(QUIET_MS, last + MIN_INTERVAL_MS - Date.now()))
    }
    const run = async () => {
      timer = null
      if (!dirty || disposed) return
      if (busy || emptyRef.current) return schedule()
      busy = true
      dirty = false
      last = Date.now()
      try {
        const image = await renderPreview(editor)
        const res = await fetch(PREVIEWS_PATH, {
          method: 'PUT',
          body: image,
          headers: { 'content-type': image.type, [ASSET_BOARD_HEADER]: board },
        })
        const body = (await res.json().catch(() => ({}))) as { url?: unknown; error?: unknown }
        if (!res.ok || typeof body.url !== 'string') throw new Error(typeof body.error === 'string' ? body.error : `answered ${res.status}`)
        if (roomId) setBoardPreview(roomId, body.url)
      } catch (err) {
        // A preview is a nicety: the board works without one, and the next change tries again.
        console.warn('[sketchroom] could not save the board preview', err)
      } finally {
        busy = false
      }
    }
    const unlisten = editor.store.listen(
      () => {
        dirty = true
        schedule()
      },
      { source: 'user', scope: 'document' },
    )
    return () => {
      disposed = true
      unlisten()
      if (timer) clearTimeout(timer)
    }
  }, [editor, readOnly, board, roomId])
  return null
}
