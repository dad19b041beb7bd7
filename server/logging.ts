/**
 * What a log line may say about an error. Room ids and link tokens are capabilities, and
 * errors of libraries quote what they were given: PostgreSQL's `detail` names the key of
 * a failed row ("Key (room, seq)=(<room id>, 1) already exists"), `where` and `query` quote
 * statements, and pino's default serializer copies every such field. So errors are logged
 * as their type, code, message and stack (and cause, the same way), with anything shaped
 * like a link token blanked out.
 */
import type { Logger } from 'pino'

/** A link token anywhere in a text (lib/links TOKEN_PATTERN, unanchored). */
const TOKEN_ANYWHERE = /[A-Za-z0-9_-]{16,600}\.[A-Za-z0-9_-]{16,64}/g

function scrub(text: string): string {
  return text.replace(TOKEN_ANYWHERE, '[token]')
}

/** An error (or anything thrown) as a log line may carry it. */
export function safeError(err: unknown, depth = 0): unknown {
  if (typeof err === 'string') return scrub(err)
  if (!(err instanceof Error)) return err === null || typeof err !== 'object' ? err : { type: 'non-error thrown' }
  const out: Record<string, unknown> = { type: err.name, message: scrub(err.message) }
  const { code } = err as { code?: unknown }
  if (typeof code === 'string' || typeof code === 'number') out.code = code
  if (err.stack) out.stack = scrub(err.stack)
  if (err.cause !== undefined && depth < 4) out.cause = safeError(err.cause, depth + 1)
  return out
}

/**
 * The logger every part of the server gets: `log`, with errors serialized by `safeError`
 * under the keys the server logs them with.
 *
 * @example
 * const log = safeLogger(pino())
 * log.error({ err }, 'room failed to load') // no `detail`, no token
 */
export function safeLogger(log: Logger): Logger {
  return log.child({}, { serializers: { err: safeError, error: safeError } })
}
