/**
 * Plain counters on the hot path; `/metrics` reads them when scraped, so counting a
 * message costs an addition, not a metrics-library call.
 */
export class Stats {
  messagesIn = 0
  messagesOut = 0
  bytesIn = 0
  bytesOut = 0
  connectionsOpened = 0
}
