/**
 * Hocuspocus with its defaults (flushDelay 0: broadcasts coalesced per event-loop turn),
 * no extensions, no persistence: the documents live in memory while someone is connected.
 */
import { Server } from '@hocuspocus/server'
import { serve } from './harness'

const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false })
await server.listen()
const address = server.httpServer.address()
serve(typeof address === 'object' && address ? address.port : 0)
