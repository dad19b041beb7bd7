/**
 * Runs `fn` once the page is idle, at most `timeoutMs` from now; where the browser has no
 * idle callbacks, after `fallbackMs`. Returns a cancel.
 *
 * @example
 * useEffect(() => whenIdle(() => setOpen(true), 3_000), [])
 */
export function whenIdle(fn: () => void, timeoutMs: number, fallbackMs = 0): () => void {
  if (typeof requestIdleCallback !== 'function') {
    const timer = setTimeout(fn, fallbackMs)
    return () => clearTimeout(timer)
  }
  const id = requestIdleCallback(fn, { timeout: timeoutMs })
  return () => cancelIdleCallback(id)
}
