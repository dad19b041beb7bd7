import type { TLUiOverrides } from 'tldraw'
import { downloadBoardFile, downloadPdf } from './boardFiles'

/** A board title as a file name: no path separators or characters file systems refuse. */
export function exportFileName(title: string): string {
  const cleaned = [...title]
    // Control characters out: no file system wants them in a name.
    .map((c) => (c.charCodeAt(0) < 32 ? ' ' : c))
    .join('')
    .replace(/[\\/:*?"<>|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '')
    .slice(0, 100)
    .trim()
  return cleaned || 'Untitled board'
}

/** Our own export actions, in the main menu's Export submenu (`BoardMainMenu.tsx`). */
export const EXPORT_PDF_ACTION = 'sketchroom-export-pdf'
export const DOWNLOAD_BOARD_ACTION = 'sketchroom-download-board'

const EXPORTS = {
  'export-as-svg': 'svg',
  'export-as-png': 'png',
  'export-all-as-svg': 'svg',
  'export-all-as-png': 'png',
} as const

/**
 * tldraw names an export of the whole page after its document record ("Untitled"); the
 * board's title lives in the doc's meta instead. These overrides name the file after the
 * title, read when the export runs. A selection keeps tldraw's own name (the frame's, or
 * "shapes at …"), as it does in tldraw. They add PDF (the page, or one PDF page per
 * frame) and the board as a `.tldr` file, named the same way.
 */
export function exportOverrides(getTitle: () => string): TLUiOverrides {
  return {
    actions(editor, actions, helpers) {
      for (const [id, format] of Object.entries(EXPORTS)) {
        const action = actions[id]
        if (!action) continue
        const original = action.onSelect
        actions[id] = {
          ...action,
          onSelect(source) {
            const whole = id.startsWith('export-all') || editor.getSelectedShapeIds().length === 0
            if (!whole) return original(source)
            const ids = [...editor.getCurrentPageShapeIds()]
            if (ids.length) helpers.exportAs(ids, { format, name: exportFileName(getTitle()) })
          },
        }
      }
      const failed = (what: string) => (err: unknown) => {
        console.warn(`[sketchroom] ${what} failed`, err)
        helpers.addToast({ title: `Could not ${what}`, description: 'Try again; if it keeps failing, reload the page.', severity: 'error' })
      }
      actions[EXPORT_PDF_ACTION] = {
        id: EXPORT_PDF_ACTION,
        label: 'sketchroom.export-pdf',
        readonlyOk: true,
        onSelect() {
          const title = getTitle()
          downloadPdf(editor, title || 'Untitled board', exportFileName(title)).then((done) => {
            if (!done) helpers.addToast({ title: 'Nothing to export', description: 'This page has no shapes yet.', severity: 'info' })
          }, failed('export the PDF'))
        },
      }
      actions[DOWNLOAD_BOARD_ACTION] = {
        id: DOWNLOAD_BOARD_ACTION,
        label: 'sketchroom.download-board',
        readonlyOk: true,
        onSelect() {
          const title = getTitle()
          downloadBoardFile(editor, title, exportFileName(title)).catch(failed('download the board'))
        },
      }
      return actions
    },
    translations: {
      en: { 'sketchroom.export-pdf': 'PDF', 'sketchroom.download-board': 'Download board (.tldr)' },
    },
  }
}
