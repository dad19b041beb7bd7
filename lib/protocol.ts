/**
 * y-websocket v1 wire protocol constants, shared by the server and the browser.
 * Each WebSocket binary frame carries exactly one message; its first varUint is the
 * message type.
 */
export const MessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  /**
   * sketchroom's own: varString(JSON `BoardStatus`). Sent only to clients that ask for it
   * (`?features=status` on the sync URL): a stock y-websocket client would log every
   * message type it does not know as an error.
   */
  Status: 100,
} as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

/** Second varUint of a Sync message. */
export const SyncType = {
  Step1: 0,
  Step2: 1,
  Update: 2,
} as const
export type SyncType = (typeof SyncType)[keyof typeof SyncType]

/** Second varUint of an Auth message (y-protocols/auth). */
export const AuthType = { PermissionDenied: 0 } as const

/**
 * WebSocket close codes. 44xx are final: a client should not retry them blindly.
 * The close reason text always says why in words.
 */
export const CloseCode = {
  GoingAway: 1001,
  Policy: 1008,
  TooBig: 1009,
  InternalError: 1011,
  /** The server is too busy right now (receiving other big changes): retry shortly. */
  TryAgainLater: 1013,
  Malformed: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  LimitReached: 4413,
  /** The board was deleted (it is in the trash): final, nothing to retry. */
  Gone: 4410,
  RateLimited: 4429,
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** True for close codes a client must not retry without a change (new token, reload). */
export function isFinalCloseCode(code: number): boolean {
  return code >= 4400 && code < 4500
}

/** What a Status message says about the board. */
export interface BoardStatus {
  /** `paused`: the server cannot store changes right now; they stay in the browser until it can. */
  saving: 'ok' | 'paused'
}

/** A Status message about something that happened to the board (for clients that asked). */
export interface BoardEvent {
  /** Someone restored an earlier version: `by` is their self-chosen name, if they gave one. */
  restored: { by: string | null; versionCreatedAt: number }
}

/** The sync URL's query parameter through which a client asks for Status messages. */
export const FEATURES_PARAM = 'features'
export const STATUS_FEATURE = 'status'

/** Path prefix of the WebSocket endpoint: `ws(s)://host/sync/<roomId>`. */
export const SYNC_PATH_PREFIX = '/sync/'
