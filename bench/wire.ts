/**
 * What the load generator puts on the wire and how it reads it back, for both framings:
 * y-websocket v1 (ours, the reference) and Hocuspocus (every message prefixed by the
 * document name, an auth message first).
 *
 * Receive-side cost matters as much as send-side cost: one generator process must count
 * tens of thousands of deliveries per second, so frames are scanned, never decoded into
 * Y.Docs or Awareness instances. To make scanning possible, every payload carries its
 * send time and sender at a spot that is cheap to find:
 * - awareness state JSON starts with `{"t":<13 digits>,` (the entry header has the sender);
 * - a shape record's `meta.__t` is the string `<13 digits ms>-<10 digits clientID>`, and
 *   lib0's writeAny puts it on the wire as key `__t`, type 119 (string), length 24, then
 *   the ASCII, so Buffer.indexOf finds each one even in merged updates.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { presenceIdForClient } from '../lib/presence'

export type Framing = 'yws' | 'hocus'

const SYNC = 0
const AWARENESS = 1
const AUTH = 2
const STEP1 = 0
const STEP2 = 1
const UPDATE = 2

/** Starts a frame: Hocuspocus wants the document name in front of every message. */
function begin(framing: Framing, doc: string): encoding.Encoder {
  const e = encoding.createEncoder()
  if (framing === 'hocus') encoding.writeVarString(e, doc)
  return e
}

export function authFrame(framing: Framing, doc: string): Uint8Array | null {
  if (framing !== 'hocus') return null
  const e = begin(framing, doc)
  encoding.writeVarUint(e, AUTH)
  encoding.writeVarUint(e, 0) // AuthMessageType.Token
  encoding.writeVarString(e, 'bench')
  return encoding.toUint8Array(e)
}

export function syncStep1Frame(framing: Framing, doc: string, stateVector: Uint8Array = new Uint8Array([0])): Uint8Array {
  const e = begin(framing, doc)
  encoding.writeVarUint(e, SYNC)
  encoding.writeVarUint(e, STEP1)
  encoding.writeVarUint8Array(e, stateVector)
  return encoding.toUint8Array(e)
}

export function updateFrame(framing: Framing, doc: string, update: Uint8Array): Uint8Array {
  const e = begin(framing, doc)
  encoding.writeVarUint(e, SYNC)
  encoding.writeVarUint(e, UPDATE)
  encoding.writeVarUint8Array(e, update)
  return encoding.toUint8Array(e)
}

/** One awareness entry, hand-encoded: count 1, clientID, clock, JSON state. */
export function awarenessFrame(framing: Framing, doc: string, clientId: number, clock: number, json: string): Uint8Array {
  const inner = encoding.createEncoder()
  encoding.writeVarUint(inner, 1)
  encoding.writeVarUint(inner, clientId)
  encoding.writeVarUint(inner, clock)
  encoding.writeVarString(inner, json)
  const e = begin(framing, doc)
  encoding.writeVarUint(e, AWARENESS)
  encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
  return encoding.toUint8Array(e)
}

/**
 * A tldraw `instance_presence`-shaped awareness state. `t` comes first so receivers can
 * read it at a fixed offset; the rest is what a tldraw client really sends (~500 bytes).
 */
export function awarenessJson(t: number, clientId: number, name: string, color: string, x: number, y: number): string {
  return (
    `{"t":${t},"presence":{"id":"${presenceIdForClient(clientId)}","typeName":"instance_presence","userId":"user:${name}",` +
    `"userName":"${name}","lastActivityTimestamp":${t},"color":"${color}","camera":{"x":0,"y":0,"z":1},` +
    `"selectedShapeIds":[],"currentPageId":"page:page","brush":null,"scribbles":[],` +
    `"screenBounds":{"x":0,"y":0,"w":1920,"h":1080},"followingUserId":null,` +
    `"cursor":{"x":${x},"y":${y},"type":"default","rotation":0},"chatMessage":"","meta":{}},` +
    `"user":{"id":"${name}","name":"${name}","color":"${color}"}}`
  )
}

/** A tldraw geo shape record (~450 bytes as JSON), valid for tlschema's validators. */
export function geoShape(id: string, index: number, t: number, clientId: number): Record<string, unknown> {
  return {
    id: `shape:${id}`,
    typeName: 'shape',
    type: 'geo',
    x: (index % 100) * 120,
    y: Math.floor(index / 100) * 120,
    rotation: 0,
    // A valid tldraw fractional index: its digits may not end in 0, hence the trailing V.
    index: `a1${index.toString(36).padStart(4, '0')}V`,
    parentId: 'page:page',
    isLocked: false,
    opacity: 1,
    props: {
      geo: 'rectangle',
      dash: 'draw',
      url: '',
      w: 100 + (index % 50),
      h: 80,
      growY: 0,
      scale: 1,
      labelColor: 'black',
      color: 'blue',
      fill: 'semi',
      size: 'm',
      font: 'draw',
      align: 'middle',
      verticalAlign: 'middle',
      richText: { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: `shape ${index}` }] }] },
      flipX: false,
      flipY: false,
    },
    meta: { __t: stamp(t, clientId) },
  }
}

/** `meta.__t`: send time and sender, fixed width so the scanner knows where they sit. */
export function stamp(t: number, clientId: number): string {
  return `${Math.floor(t)}-${String(clientId).padStart(10, '0')}`
}

// key "__t" as a varString, then writeAny's string tag (119) and the length (24).
const STAMP_MARKER = Buffer.from([3, 0x5f, 0x5f, 0x74, 119, 24])

/**
 * A client's own records: a YKeyValue-style array (`{key, val}` entries in
 * doc.getArray('records')) where a write pushes the new entry and deletes the old one,
 * exactly the update shape a tldraw client produces when it moves a shape.
 */
export class RecordWriter {
  readonly doc = new Y.Doc()
  private readonly records = this.doc.getArray<{ key: string; val: unknown }>('records')
  private lastUpdate: Uint8Array | null = null

  constructor() {
    this.doc.on('update', (u: Uint8Array) => {
      this.lastUpdate = u
    })
  }

  get clientId(): number {
    return this.doc.clientID
  }

  /** Writes `count` records at once (preloading); returns the update. */
  writeMany(first: number, count: number, t: number): Uint8Array {
    this.doc.transact(() => {
      const batch = []
      for (let i = first; i < first + count; i++) batch.push({ key: `shape:s${i}`, val: geoShape(`s${i}`, i, t, this.clientId) })
      this.records.push(batch)
    })
    return this.lastUpdate!
  }

  /** Overwrites this client's one shape (a drag step) and returns the Yjs update. */
  move(shapeKey: string, index: number, t: number): Uint8Array {
    this.doc.transact(() => {
      if (this.records.length > 0) this.records.delete(0, this.records.length)
      this.records.push([{ key: `shape:${shapeKey}`, val: geoShape(shapeKey, index, t, this.clientId) }])
    })
    return this.lastUpdate!
  }
}

/** What one received frame holds, for counting. */
export interface Received {
  kind: 'awareness' | 'update' | 'step2' | 'step1' | 'auth' | 'other'
  /** Deliveries from others in this frame (awareness entries or stamped records). */
  count: number
  /** Payload of a sync step 2 (cold load applies it). */
  payload?: Uint8Array
}

function readNumberAscii(buf: Uint8Array, pos: number, digits: number): number {
  let n = 0
  for (let i = 0; i < digits; i++) n = n * 10 + (buf[pos + i]! - 48)
  return n
}

/**
 * Reads one frame, counting deliveries from peers other than `selfId` and handing each
 * one's send time to `latency` (so echoes from servers that echo are never counted).
 */
export function scanFrame(framing: Framing, frame: Buffer, selfId: number, now: number, latency: (ms: number) => void): Received {
  const d = decoding.createDecoder(frame)
  if (framing === 'hocus') decoding.readVarString(d)
  const type = decoding.readVarUint(d)
  if (type === AWARENESS) {
    const inner = decoding.readVarUint8Array(d)
    const a = decoding.createDecoder(inner)
    const n = decoding.readVarUint(a)
    let count = 0
    for (let i = 0; i < n; i++) {
      const clientId = decoding.readVarUint(a)
      decoding.readVarUint(a) // clock
      const len = decoding.readVarUint(a)
      const start = a.pos
      a.pos += len
      // Removals are "null"; our states start with {"t":
      if (clientId === selfId || len < 20 || inner[start + 2] !== 0x74) continue
      count++
      latency(now - readNumberAscii(inner, start + 5, 13))
    }
    return { kind: 'awareness', count }
  }
  if (type === SYNC) {
    const syncType = decoding.readVarUint(d)
    if (syncType === STEP1) return { kind: 'step1', count: 0 }
    const payload = decoding.readVarUint8Array(d)
    if (syncType === STEP2) return { kind: 'step2', count: 0, payload }
    if (syncType !== UPDATE) return { kind: 'other', count: 0 }
    const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    let count = 0
    let pos = buf.indexOf(STAMP_MARKER)
    while (pos !== -1) {
      const at = pos + STAMP_MARKER.length
      const sender = readNumberAscii(buf, at + 14, 10)
      if (sender !== selfId) {
        count++
        latency(now - readNumberAscii(buf, at, 13))
      }
      pos = buf.indexOf(STAMP_MARKER, at + 24)
    }
    return { kind: 'update', count }
  }
  if (type === AUTH) return { kind: 'auth', count: 0 }
  return { kind: 'other', count: 0 }
}
