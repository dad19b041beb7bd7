import type { RoomLimits } from './Room'

/** Room limits of a test room: roomy, but for the one a test is about. */
export const LIMITS: RoomLimits = {
  maxDocBytes: 1 << 20,
  maxAwarenessBytes: 8192,
  maxConnections: 10,
  pendingTimeoutMs: 5000,
  maxDepth: 100,
  maxNewClientsPerUpdate: 64,
  maxClientsPerBoard: 10_000,
}
