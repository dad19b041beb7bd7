import type { TLUiOverrides } from 'tldraw'

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
 * "shapes at …"), as it does in tldraw.
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
      return actions
    },
  }
}
