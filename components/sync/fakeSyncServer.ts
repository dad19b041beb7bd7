/**
 * A tiny y-websocket server for unit tests of the client: enough of the protocol to sync
 * one doc (sync step 1 and 2, updates), plus whatever frames a test sends, such as
 * sketchroom's Status messages, which the real server on this branch does not send yet.
 */
import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebSocketServer, type WebSocket } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { MessageType, type BoardEvent, type BoardStatus } from '@/lib/protocol'

export interface FakeConnection {
  socket: WebSocket
  /** The request's query parameters (`features=status`, …). */
  params: URLSearchParams
}

export interface FakeSyncServer {
  /** `http://127.0.0.1:<port>`, what connectBoard takes as `origin`. */
  url: string
  doc: Y.Doc
  connections: FakeConnection[]
  /**
   * The next update a client sends is not applied: its socket is closed with 1011 and this
   * reason, as the real server does when it cannot store a change.
   */
  failNextUpdate(reason: string): void
  /** Sends a Status message to every open connection. */
  sendStatus(status: BoardStatus | BoardEvent): void
  close(): Promise<void>
}

/** A Status frame: `[100, varString(JSON)]`. */
export function statusFrame(status: BoardStatus | BoardEvent): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Status)
  encoding.writeVarString(encoder, JSON.stringify(status))
  return encoding.toUint8Array(encoder)
}

/**
 * Starts the fake on port 0. `onConnection` runs for each new socket, after the server's
 * own sync step 1 went out.
 *
 * @example
 * const server = await startFakeSyncServer((c) => c.socket.send(statusFrame({ saving: 'paused' })))
 */
export async function startFakeSyncServer(onConnection: (connection: FakeConnection) => void = () => {}): Promise<FakeSyncServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const doc = new Y.Doc()
  const connections: FakeConnection[] = []
  let failing: string | null = null
  wss.on('connection', (socket, request) => {
    const connection = { socket, params: new URL(request.url ?? '/', 'http://fake').searchParams }
    connections.push(connection)
    socket.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(decoder) !== MessageType.Sync) return
      if (failing !== null && decoding.peekVarUint(decoder) === syncProtocol.messageYjsUpdate) {
        socket.close(1011, failing)
        failing = null
        return
      }
      const reply = encoding.createEncoder()
      encoding.writeVarUint(reply, MessageType.Sync)
      syncProtocol.readSyncMessage(decoder, reply, doc, socket)
      if (encoding.length(reply) > 1) socket.send(encoding.toUint8Array(reply))
    })
    const step1 = encoding.createEncoder()
    encoding.writeVarUint(step1, MessageType.Sync)
    syncProtocol.writeSyncStep1(step1, doc)
    socket.send(encoding.toUint8Array(step1))
    onConnection(connection)
  })
  const { port } = wss.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    doc,
    connections,
    failNextUpdate(reason) {
      failing = reason
    },
    sendStatus(status) {
      for (const { socket } of connections) if (socket.readyState === socket.OPEN) socket.send(statusFrame(status))
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { socket } of connections) socket.terminate()
        wss.close(() => resolve())
      }),
  }
}
