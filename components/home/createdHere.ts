/**
 * Boards this tab made with New board. An empty board says "check that the link is
 * complete", which is no help to the person who just made it.
 */
const key = (roomId: string) => `sketchroom:created:${roomId}`

export function markCreatedHere(roomId: string): void {
  try {
    sessionStorage.setItem(key(roomId), '1')
  } catch {
    // No session storage (a locked-down browser): the hint shows, harmlessly.
  }
}

export function wasCreatedHere(roomId: string): boolean {
  try {
    return sessionStorage.getItem(key(roomId)) === '1'
  } catch {
    return false
  }
}
