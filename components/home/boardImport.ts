import type { Editor, TLAsset, TLRecord } from 'tldraw'
import { DOCUMENT_RECORD_ID, MAX_TITLE_LENGTH } from '@/lib/board'

/** A `.tldr` file read and migrated to this client's schema, waiting for its new board. */
export interface ImportedBoard {
  /** Document records only (pages, shapes, bindings, assets, the document record). */
  records: TLRecord[]
  title: string
}

/** The file types "Open a file" offers. */
export const BOARD_FILE_ACCEPT = '.tldr,application/vnd.tldraw+json,application/json'

/** Larger files are refused before they are read: a board's document is capped on the server anyway. */
export const MAX_BOARD_FILE_BYTES = 64 * 1024 * 1024

/**
 * Reads a `.tldr` file with tldraw's own parser (which migrates older files). Returns the
 * board, or a sentence saying why the file cannot be opened.
 *
 * @example
 * const result = await readBoardFile(file)
 * if (typeof result === 'string') showError(result)
 */
export async function readBoardFile(file: File): Promise<ImportedBoard | string> {
  if (file.size > MAX_BOARD_FILE_BYTES) return 'This file is too big to open as a board.'
  // tldraw is big: the home page loads it only when someone opens a file.
  const { createTLStore, defaultShapeUtils, parseTldrawJsonFile } = await import('tldraw')
  const schema = createTLStore({ shapeUtils: defaultShapeUtils }).schema
  const parsed = parseTldrawJsonFile({ json: await file.text(), schema })
  if (!parsed.ok) {
    switch (parsed.error.type) {
      case 'fileFormatVersionTooNew':
      case 'migrationFailed':
        return 'This file was made by a newer version of tldraw than this server runs.'
      case 'v1File':
        return 'This file is in the old tldraw 1 format, which cannot be opened here.'
      default:
        return 'This is not a tldraw board file (.tldr), or it is damaged.'
    }
  }
  const store = parsed.value
  const records = store.allRecords().filter((record) => store.schema.types[record.typeName]?.scope === 'document')
  const doc = records.find((record) => record.id === DOCUMENT_RECORD_ID) as { name?: string } | undefined
  const fromName = file.name.replace(/\.tldr$/i, '').trim()
  const title = (doc?.name?.trim() || fromName).slice(0, MAX_TITLE_LENGTH)
  return { records, title }
}

// A board opened from a file is handed from the home page to the new board's page in
// memory: the file may be far bigger than session storage takes, and the page change is a
// client-side navigation, so this module (and the map) is the same on both sides.
const pending = new Map<string, ImportedBoard>()

export function handOffImport(roomId: string, board: ImportedBoard): void {
  pending.set(roomId, board)
}

/** The board waiting for this room, once: a second call (StrictMode, a remount) gets null. */
export function takeImport(roomId: string): ImportedBoard | null {
  const board = pending.get(roomId) ?? null
  pending.delete(roomId)
  return board
}

function dataUrlToFile(src: string, name: string): File | null {
  const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(src)
  if (!match) return null
  const [, type = 'application/octet-stream', base64, data = ''] = match
  // Decoded here: the page's CSP does not let fetch() read data: URLs.
  const text = base64 ? atob(data) : decodeURIComponent(data)
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0))
  return new File([bytes], name, { type })
}

/**
 * Writes an imported board into the (new, empty) board of `editor`, as the user's own
 * change: the binding sends it like any edit, so the server validates and stores it.
 * Images inlined in the file are uploaded to this server first (a board stores URLs,
 * never base64); one that cannot be uploaded stays as a placeholder.
 */
export async function applyImport(editor: Editor, board: ImportedBoard): Promise<void> {
  const records: TLRecord[] = []
  for (const record of board.records) {
    if (
      record.typeName === 'asset' &&
      'src' in record.props &&
      typeof record.props.src === 'string' &&
      record.props.src.startsWith('data:')
    ) {
      const asset = record as TLAsset & { props: { src: string | null; name?: string } }
      const file = dataUrlToFile(asset.props.src!, asset.props.name || 'image')
      let src: string | null = null
      if (file) {
        try {
          src = (await editor.uploadAsset(asset, file)).src
        } catch (err) {
          console.warn('[sketchroom] an image of the file could not be uploaded', err)
        }
      }
      records.push({ ...asset, props: { ...asset.props, src } } as TLRecord)
    } else {
      records.push(record)
    }
  }
  const pages = new Set(records.filter((r) => r.typeName === 'page').map((r) => r.id))
  editor.run(
    () => {
      editor.store.put(records)
      // The new board's own empty page goes, unless the file has a page of that id.
      const stale = editor.getPages().filter((page) => !pages.has(page.id))
      if (stale.length && pages.size) editor.store.remove(stale.map((page) => page.id))
      const first = editor.getPages()[0]
      if (first) editor.setCurrentPage(first.id)
    },
    // Undo should not take the whole file away again.
    { history: 'ignore' },
  )
  editor.zoomToFit({ animation: { duration: 0 } })
}
