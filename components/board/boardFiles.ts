import { serializeTldrawJson, TLDRAW_FILE_EXTENSION, type Editor, type TLShapeId } from 'tldraw'
import { DOCUMENT_RECORD_ID } from '@/lib/board'
import { whenIdle } from './whenIdle'

/** Pixels per exported point: a PDF page is as many points as the frame is canvas units, drawn at twice that. */
const PDF_PIXEL_RATIO = 2

/**
 * What goes on the pages of a PDF: one page per frame at the top of the current page, in
 * the page's own frame order (the order of the page's children, as tldraw keeps it: the
 * order the frames were made in, unless someone moved one forward or back), so a page of
 * frames is a slide deck; without frames, the whole page on one PDF page.
 */
export function pdfPages(editor: Editor): TLShapeId[][] {
  const pageId = editor.getCurrentPageId()
  const frames = editor.getSortedChildIdsForParent(pageId).filter((id) => {
    const shape = editor.getShape(id)
    return shape !== undefined && editor.isShapeOfType(shape, 'frame')
  })
  if (frames.length) return frames.map((id) => [id])
  const all = [...editor.getCurrentPageShapeIds()]
  return all.length ? [all] : []
}

/** How long after the board shows pdf-lib starts loading in the background. */
const PDF_PRELOAD_DELAY_MS = 5_000

/**
 * Loads pdf-lib in the background once the board has been showing a while, when the page
 * is idle: it stays off the board's own start, yet Export → PDF then starts at once, and
 * works offline too (the service worker keeps every file a page loaded). Returns a cancel.
 */
export function preloadPdfLibrary(): () => void {
  let cancelIdle = () => {}
  const timer = setTimeout(() => {
    cancelIdle = whenIdle(() => void import('pdf-lib').catch(() => undefined), 10_000)
  }, PDF_PRELOAD_DELAY_MS)
  return () => {
    clearTimeout(timer)
    cancelIdle()
  }
}

/**
 * The current page as a PDF, rendered by tldraw's own image export: one PDF page per
 * frame, or the page as one; null when there is nothing to export.
 */
export async function boardPdf(editor: Editor, title: string): Promise<Uint8Array | null> {
  const pages = pdfPages(editor)
  if (!pages.length) return null
  // pdf-lib is a large library most visits never use: it loads with the first PDF, not with the board.
  const { PDFDocument } = await import('pdf-lib')
  const pdf = await PDFDocument.create()
  pdf.setTitle(title)
  pdf.setCreator('sketchroom')
  for (const ids of pages) {
    const { blob } = await editor.toImage(ids, { format: 'png', background: true, pixelRatio: PDF_PIXEL_RATIO })
    const image = await pdf.embedPng(await blob.arrayBuffer())
    const width = image.width / PDF_PIXEL_RATIO
    const height = image.height / PDF_PIXEL_RATIO
    pdf.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height })
  }
  return pdf.save()
}

/**
 * The board in tldraw's own file format (`.tldr`): every record, images inlined by
 * tldraw, and the board's title as the document's name (tldraw names a file by it too), so
 * opening the file on the home page gives the same board back, title included.
 */
export async function boardFile(editor: Editor, title: string): Promise<string> {
  const file = JSON.parse(await serializeTldrawJson(editor)) as { records: Array<{ id: string; name?: string }> }
  for (const record of file.records) if (record.id === DOCUMENT_RECORD_ID) record.name = title
  return JSON.stringify(file)
}

/** Hands a file to the browser's downloads (tldraw's own helper is internal). */
function download(file: File): void {
  const url = URL.createObjectURL(file)
  const link = document.createElement('a')
  link.href = url
  link.download = file.name
  link.click()
  // Revoked later: some browsers start reading the URL only after the click returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

export async function downloadPdf(editor: Editor, title: string, fileName: string): Promise<boolean> {
  const bytes = await boardPdf(editor, title)
  if (!bytes) return false
  download(new File([bytes as Uint8Array<ArrayBuffer>], `${fileName}.pdf`, { type: 'application/pdf' }))
  return true
}

export async function downloadBoardFile(editor: Editor, title: string, fileName: string): Promise<void> {
  const json = await boardFile(editor, title)
  download(new File([json], `${fileName}${TLDRAW_FILE_EXTENSION}`, { type: 'application/vnd.tldraw+json' }))
}
