/**
 * The reference y-websocket server (@y/websocket-server 0.1.1), set up like its own bin:
 * a `ws` server on an http server, every connection handed to setupWSConnection. No
 * persistence (YPERSISTENCE unset), as in its default configuration. Its docs map is
 * module-global, which is one reason each server runs in its own process.
 */
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'
import { serve } from './harness'

const wss = new WebSocketServer({ noServer: true })
const server = http.createServer((_req, res) => res.writeHead(200).end('okay'))
wss.on('connection', (ws, req) => setupWSConnection(ws, req))
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  serve(typeof address === 'object' && address ? address.port : 0)
})
