import { atom, type Atom, type TLRecord, type TLStore } from 'tldraw'
import { previewStore } from './previewStore'

/** Why the server took a version (the `reason` of `/api/boards/<board>/versions`). */
export type VersionReason = 'quiet' | 'periodic' | 'left' | 'before-restore' | 'named' | 'restored'

/** One version as the history API lists it. */
export interface VersionSummary {
  id: string
  createdAt: number
  reason: VersionReason | string
  name?: string
  shapes: number
  bytes: number
  /** The names people chose for themselves while editing: names, not identities. */
  editors: string[]
}

export type VersionsState =
  | { status: 'loading' }
  | { status: 'ready'; versions: VersionSummary[] }
  /** The last answer is kept on screen with what went wrong. */
  | { status: 'error'; message: string; versions: VersionSummary[] }

/** Where the person was looking when they opened a version: the preview opens there. */
export interface PreviewView {
  camera: { x: number; y: number; z: number }
  pageId: string | null
}

export type PreviewState = { version: VersionSummary; view: PreviewView } & (
  | { status: 'loading' }
  /** `store` holds the version's records, read-only and bound to nothing. */
  | { status: 'ready'; store: TLStore }
  | { status: 'error'; message: string }
)

/** How long a restore of ours may take to be announced before we stop expecting it. */
const OWN_RESTORE_MS = 60_000

async function answer<T>(res: Response, what: string): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as T & { error?: unknown }
  if (!res.ok) throw new Error(`Could not ${what}: ${typeof body.error === 'string' ? body.error : `the server answered ${res.status}`}.`)
  return body
}

/**
 * The board's history as this page sees it, shared by the History button, the panel, the
 * preview and the banner (each reads its atoms): the list of versions, the version being
 * previewed, and the restores this page asked for (so their announcement is not toasted
 * back to the person who made them).
 *
 * Nothing here touches the live board: a preview is records fetched into memory, shown by
 * a separate read-only editor; a restore is the server's own change, which reaches this
 * page like anyone else's (so it is in nobody's undo stack).
 *
 * @example
 * const history = new HistoryController(roomId)
 * history.toggle() // opens the panel and loads the list
 * await history.show(version, { camera: editor.getCamera(), pageId: editor.getCurrentPageId() })
 * await history.restore(version, editor.user.getName())
 */
export class HistoryController {
  readonly open: Atom<boolean> = atom('sketchroom history open', false)
  readonly versions: Atom<VersionsState> = atom<VersionsState>('sketchroom history versions', { status: 'loading' })
  readonly preview: Atom<PreviewState | null> = atom<PreviewState | null>('sketchroom history preview', null)

  private listRequest = 0
  private previewRequest = 0
  private readonly ownRestores = new Map<number, ReturnType<typeof setTimeout>>()
  private readonly base: string

  /** `board` is what the history API takes: the room id or an edit token. */
  constructor(
    board: string,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {
    this.base = `/api/boards/${encodeURIComponent(board)}/versions`
  }

  toggle(): void {
    const opening = !this.open.get()
    this.open.set(opening)
    if (opening) void this.refresh()
  }

  close(): void {
    this.open.set(false)
  }

  /** Loads the list again; an older answer arriving late is dropped. */
  async refresh(): Promise<void> {
    const request = ++this.listRequest
    try {
      const { versions } = await answer<{ versions: VersionSummary[] }>(
        await this.fetcher(this.base, { cache: 'no-store' }),
        'load the history',
      )
      if (request === this.listRequest) this.versions.set({ status: 'ready', versions })
    } catch (err) {
      if (request !== this.listRequest) return
      const current = this.versions.get()
      this.versions.set({ status: 'error', message: messageOf(err), versions: current.status === 'loading' ? [] : current.versions })
    }
  }

  /** Saves the board as it is now under `name`; throws with the sentence to show. */
  async nameVersion(name: string): Promise<void> {
    const res = await this.fetcher(this.base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    })
    await answer(res, 'name this version')
    await this.refresh()
  }

  /** Shows `version` read-only over the live board, from where the person was looking. */
  async show(version: VersionSummary, view: PreviewView): Promise<void> {
    const request = ++this.previewRequest
    this.preview.set({ version, view, status: 'loading' })
    try {
      const res = await this.fetcher(`${this.base}/${encodeURIComponent(version.id)}`, { cache: 'no-store' })
      const { records, schema } = await answer<{ records: TLRecord[]; schema?: unknown }>(res, 'open this version')
      if (request !== this.previewRequest) return
      let store: TLStore
      try {
        store = previewStore(records, schema ?? null)
      } catch (err) {
        console.warn('[sketchroom] could not read a version', err)
        throw new Error('This version cannot be shown here: its records could not be read.')
      }
      this.preview.set({ version, view, status: 'ready', store })
    } catch (err) {
      if (request === this.previewRequest) this.preview.set({ version, view, status: 'error', message: messageOf(err) })
    }
  }

  /** Leaves the preview: the live board, which kept changing underneath, is back. */
  backToNow(): void {
    this.previewRequest++
    this.preview.set(null)
  }

  /**
   * Makes the board `version` for everyone (the server applies it as its own change), then
   * leaves the preview. `by` is the restorer's self-chosen name, shown to the others.
   * Throws with the sentence to show.
   */
  async restore(version: VersionSummary, by: string): Promise<void> {
    this.expectOwnRestore(version.createdAt)
    try {
      const res = await this.fetcher(`${this.base}/${encodeURIComponent(version.id)}/restore`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(by.trim() ? { by: by.trim() } : {}),
      })
      await answer(res, 'restore this version')
    } catch (err) {
      this.forgetOwnRestore(version.createdAt)
      throw err
    }
    this.backToNow()
    await this.refresh()
  }

  /**
   * Whether a restore announced by the server is the one this page just made; it is then
   * forgotten, so a later restore of the same version by someone else is announced.
   */
  claimOwnRestore(versionCreatedAt: number): boolean {
    if (!this.ownRestores.has(versionCreatedAt)) return false
    this.forgetOwnRestore(versionCreatedAt)
    return true
  }

  dispose(): void {
    for (const timer of this.ownRestores.values()) clearTimeout(timer)
    this.ownRestores.clear()
    this.listRequest++
    this.previewRequest++
  }

  private expectOwnRestore(createdAt: number): void {
    this.forgetOwnRestore(createdAt)
    this.ownRestores.set(
      createdAt,
      setTimeout(() => this.ownRestores.delete(createdAt), OWN_RESTORE_MS),
    )
  }

  private forgetOwnRestore(createdAt: number): void {
    const timer = this.ownRestores.get(createdAt)
    if (timer) clearTimeout(timer)
    this.ownRestores.delete(createdAt)
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
