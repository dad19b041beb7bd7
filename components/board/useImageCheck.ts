'use client'

import { useEffect } from 'react'
import { defaultHandleExternalFileContent, useEditor, useToasts, useTranslation } from 'tldraw'
import { SNIFF_BYTES, sniffImageType } from '@/lib/assets'
import { useBoard } from './BoardContext'

/** Says "image" by its name or declared type: what the person meant to add as a picture. */
function claimsToBeImage(file: File): boolean {
  return file.type.startsWith('image/') || /\.(png|jpe?g|gif|webp)$/i.test(file.name)
}

async function isReallyImage(file: File): Promise<boolean> {
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer())
  return sniffImageType(head) !== null
}

/**
 * Dropped and pasted files that claim to be images (a `.png` name, an image/* type) but
 * whose bytes are no image a board takes are refused with a toast that says why; tldraw
 * would try to decode them and only say "Upload failed". Everything else goes on to
 * tldraw's own handling, with the server's limits.
 */
export function useImageCheck() {
  const editor = useEditor()
  const toasts = useToasts()
  const msg = useTranslation()
  const { imageLimits } = useBoard()
  useEffect(() => {
    editor.registerExternalContentHandler('files', async ({ files, point }) => {
      const accepted: File[] = []
      for (const file of files) {
        if (claimsToBeImage(file) && !(await isReallyImage(file))) {
          toasts.addToast({
            title: 'Image not added',
            description: `“${file.name}” is not a PNG, JPEG, GIF or WebP image (its contents are something else), so it was not added.`,
            severity: 'error',
          })
          continue
        }
        accepted.push(file)
      }
      if (!accepted.length) return
      await defaultHandleExternalFileContent(
        editor,
        { files: accepted, point },
        {
          toasts,
          msg,
          maxAssetSize: imageLimits.maxBytes,
          acceptedImageMimeTypes: imageLimits.types,
          acceptedVideoMimeTypes: [],
        },
      )
    })
  }, [editor, toasts, msg, imageLimits])
}
