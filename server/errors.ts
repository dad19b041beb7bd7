import { CloseCode } from '../lib/protocol'

/** Why the server refused something. Each reason maps to one close code. */
export const SyncErrorReason = {
  malformed: CloseCode.Malformed,
  limit: CloseCode.LimitReached,
  storeFailed: CloseCode.InternalError,
  gone: CloseCode.Gone,
  /** The link was made before its board's links were reset. */
  revoked: CloseCode.Unauthorized,
} as const
export type SyncErrorReason = keyof typeof SyncErrorReason

/** The one error type of the sync server; `closeCode` is what the offending connection gets. */
export class SyncError extends Error {
  override readonly name = 'SyncError'
  readonly closeCode: number
  constructor(
    readonly reason: SyncErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.closeCode = SyncErrorReason[reason]
  }
}

/** A history request that cannot be met as asked (no such version of the board). */
export class HistoryError extends Error {
  override readonly name = 'HistoryError'
}

/** Thrown at start-up for an invalid setting; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}
