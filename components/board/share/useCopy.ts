'use client'

import { useToasts } from 'tldraw'

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // No clipboard API outside secure contexts (plain HTTP on a LAN address): the dialog
    // still shows the text, selected on focus, for a manual copy.
    return false
  }
}

/** Copies, then says so in a toast; on failure says where to copy from instead. */
export function useCopy() {
  const { addToast } = useToasts()
  return async (text: string, what: string) => {
    const copied = await copyText(text)
    addToast({
      title: copied ? `${what} copied` : `Copy the ${what.toLowerCase()} from the box`,
      severity: copied ? 'success' : 'warning',
    })
  }
}
