/**
 * Several sync instances as real child processes (`server/main.ts --sync-only`) on the
 * real PostgreSQL and Redis of this machine, with stock y-websocket clients spread over
 * them. Each instance reaches Redis and PostgreSQL through its own loopback TCP proxy, so
 * a test can cut one instance's link without touching the services others share.
 *
 * Each run has its own PostgreSQL schema and Redis channel prefix, dropped at the end.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { loadConfig } from '../../server/config'
import { ConfigError } from '../../server/errors'
import { parseMessage } from '../../server/protocol/messages'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { type ChildServer, connectClient, rawClient, sleep, spawnServer, synced, type TestClient, tempDir, waitFor } from '../helpers'
import { hostAndPort, startTcpProxy, type TcpProxy, viaProxy } from './tcpProxy'

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const schema = `sketchroom_multi_${randomBytes(6).toString('hex')}`
const redisPrefix = `sketchroom-multi-${randomBytes(6).toString('hex')}:`

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})
afterAll(async () => {
  const store = new PostgresStore({ url: DATABASE_URL, schema })
  await store.dropSchema()
  await store.close()
})

interface Instance {
  server: ChildServer
  wsUrl: string
  redis: TcpProxy
  postgres: TcpProxy
}

/** One sync instance as a child process, with its own proxies to Redis and PostgreSQL. */
async function instance(env: Record<string, string> = {}): Promise<Instance> {
  const pgTarget = hostAndPort(DATABASE_URL, 5432)
  const redisTarget = hostAndPort(REDIS_URL, 6379)
  const postgres = await startTcpProxy(pgTarget.host, pgTarget.port)
  const redis = await startTcpProxy(redisTarget.host, redisTarget.port)
  cleanup.push(
    () => postgres.close(),
    () => redis.close(),
  )
  const server = await spawnServer({
    DATA_DIR: tempDir(),
    DATABASE_URL: viaProxy(DATABASE_URL, postgres),
    DATABASE_SCHEMA: schema,
    DATABASE_TIMEOUT_MS: '2000',
    REDIS_URL: viaProxy(REDIS_URL, redis),
    REDIS_PREFIX: redisPrefix,
    ANTI_ENTROPY_INTERVAL_MS: '500',
    ...env,
  })
  cleanup.push(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM')
      await server.exited
    }
  })
  return { server, wsUrl: `ws://127.0.0.1:${server.port}/sync`, redis, postgres }
}

function client(inst: Instance, room: string): TestClient {
  const c = connectClient(inst.wsUrl, room)
  cleanup.push(() => c.destroy())
  return c
}

/** A user editing: pushes items, sets map keys, deletes some of its own items; remembers what it expects. */
interface Editor {
  c: TestClient
  name: string
  pushed: string[]
  deleted: Set<string>
  step(): void
}

function editor(c: TestClient, name: string): Editor {
  const e: Editor = {
    c,
    name,
    pushed: [],
    deleted: new Set(),
    step() {
      const n = e.pushed.length
      const item = `${name}-${n}`
      c.doc.transact(() => {
        c.doc.getArray<string>('list').push([item])
        c.doc.getMap<number>('map').set(`${name}-key-${n % 4}`, n)
      })
      e.pushed.push(item)
      if (n % 7 === 6) {
        // Delete one of our own earlier items (wherever concurrent inserts put it).
        const victim = e.pushed[n - 3]!
        const arr = c.doc.getArray<string>('list')
        const at = arr.toArray().indexOf(victim)
        if (at >= 0) {
          arr.delete(at, 1)
          e.deleted.add(victim)
        }
      }
    },
  }
  return e
}

async function editConcurrently(editors: Editor[], steps: number, during?: (step: number) => Promise<void> | void) {
  for (let i = 0; i < steps; i++) {
    for (const e of editors) if (Math.random() < 0.8) e.step()
    await during?.(i)
    await sleep(Math.floor(Math.random() * 6))
  }
}

const expectedItems = (editors: Editor[]) => editors.flatMap((e) => e.pushed.filter((p) => !e.deleted.has(p))).sort()

async function converged(docs: Y.Doc[], what: string, timeoutMs = 30_000) {
  await waitFor(
    () => {
      const first = Y.encodeStateVector(docs[0]!)
      const firstList = JSON.stringify(docs[0]!.getArray('list').toJSON())
      return docs.every(
        (d) => Buffer.from(Y.encodeStateVector(d)).equals(first) && JSON.stringify(d.getArray('list').toJSON()) === firstList,
      )
    },
    what,
    timeoutMs,
  )
}

async function storedDoc(room: string): Promise<Y.Doc> {
  const store = new PostgresStore({ url: DATABASE_URL, schema })
  try {
    const stored = await store.load(room)
    const doc = new Y.Doc()
    if (stored) Y.applyUpdate(doc, stored.update)
    return doc
  } finally {
    await store.close()
  }
}

function expectSameContent(a: Y.Doc, b: Y.Doc) {
  expect(a.getArray('list').toJSON()).toEqual(b.getArray('list').toJSON())
  expect(a.getMap('map').toJSON()).toEqual(b.getMap('map').toJSON())
  expect(Y.encodeStateVector(a)).toEqual(Y.encodeStateVector(b))
}

describe('several instances on PostgreSQL and Redis', () => {
  test('[S21] clients of one room spread over three instances converge, and the stored state is what they hold', async () => {
    const instances = await Promise.all([instance(), instance(), instance()])
    const room = 'multi-converge'
    const clients = instances.flatMap((inst) => [client(inst, room), client(inst, room)])
    await synced(...clients)
    const editors = clients.map((c, i) => editor(c, `u${i}`))
    await editConcurrently(editors, 60)
    await converged(
      clients.map((c) => c.doc),
      'every client to hold the same document',
    )
    expect(clients[0]!.doc.getArray<string>('list').toJSON().slice().sort()).toEqual(expectedItems(editors))
    // What the store holds is exactly what the clients hold.
    expectSameContent(await storedDoc(room), clients[0]!.doc)
    // And a cursor on one instance is seen on another.
    clients[0]!.provider.awareness.setLocalStateField('user', { id: 'ada', name: 'Ada', color: '#f00' })
    const ada = clients[0]!.doc.clientID
    await waitFor(() => clients[5]!.provider.awareness.getStates().get(ada)?.user?.name === 'Ada', "Ada's cursor on instance 3")
  })

  test('[S23] an instance SIGKILLed mid-edit: its clients move to another instance and nothing is lost', async () => {
    const instances = await Promise.all([instance(), instance(), instance()])
    const room = 'multi-kill'
    const clients = instances.flatMap((inst) => [client(inst, room), client(inst, room)])
    await synced(...clients)
    const editors = clients.map((c, i) => editor(c, `k${i}`))
    const victim = instances[1]!
    await editConcurrently(editors, 80, async (step) => {
      if (step !== 30) return
      victim.server.child.kill('SIGKILL')
      await victim.server.exited
      // The clients of the dead instance rotate to the next one, as a client-side list
      // of endpoints or a load balancer would send them; they keep editing meanwhile.
      for (const c of clients.slice(2, 4)) c.provider.serverUrl = instances[2]!.wsUrl
    })
    await converged(
      clients.map((c) => c.doc),
      'every client, moved ones included, to hold the same document',
    )
    expect(clients[0]!.doc.getArray<string>('list').toJSON().slice().sort()).toEqual(expectedItems(editors))
    // "Ends up" in the store: the last edits of the clients can still be in a flush when they
    // have converged (each instance relays what it stored, and stores what repairs bring).
    await waitFor(
      async () => {
        const stored = await storedDoc(room)
        return Buffer.from(Y.encodeStateVector(stored)).equals(Y.encodeStateVector(clients[0]!.doc))
      },
      'the store to hold every edit',
      20_000,
    ).catch(() => undefined)
    expectSameContent(await storedDoc(room), clients[0]!.doc)
  })

  test('[S22] the bus link of one instance cut while clients edit: all converge once it returns, without restarts', async () => {
    // A long interval, so healing comes from the reconnection, not a lucky periodic check.
    const env = { ANTI_ENTROPY_INTERVAL_MS: '600000' }
    const instances = await Promise.all([instance(env), instance(env)])
    const room = 'multi-bus-cut'
    const clients = instances.flatMap((inst) => [client(inst, room), client(inst, room)])
    await synced(...clients)
    const editors = clients.map((c, i) => editor(c, `b${i}`))
    await editConcurrently(editors, 10)
    await converged(
      clients.map((c) => c.doc),
      'convergence before the cut',
    )
    instances[0]!.redis.cut()
    await editConcurrently(editors, 40)
    // Cut off, instance 1's clients cannot have instance 2's clients' latest edits.
    const lastOfB2 = editors[2]!.pushed.at(-1)!
    expect(clients[0]!.doc.getArray<string>('list').toJSON()).not.toContain(lastOfB2)
    instances[0]!.redis.restore()
    await converged(
      clients.map((c) => c.doc),
      'convergence after the bus returned',
    )
    expect(clients[0]!.doc.getArray<string>('list').toJSON().slice().sort()).toEqual(expectedItems(editors))
    expectSameContent(await storedDoc(room), clients[0]!.doc)
    for (const inst of instances) expect(inst.server.child.exitCode).toBeNull()
    expect(instances[0]!.server.output()).toContain('bus reconnected')
  })

  test('[S24] PostgreSQL unreachable when a room loads: joiners are told, nothing empty is served or stored, and it recovers', async () => {
    const inst = await instance()
    const room = 'multi-pg-down'
    const first = client(inst, room)
    await synced(first)
    first.doc.getArray<string>('list').push(['drawn before the outage'])
    const witness = client(inst, room)
    await waitFor(() => witness.doc.getArray('list').length === 1, 'the edit relayed, so stored')
    first.destroy()
    witness.destroy()
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${inst.server.port}/healthz`)
      return ((await res.json()) as { rooms: number }).rooms === 0
    }, 'the room to unload')

    inst.postgres.cut()
    const joiner = rawClient(`${inst.wsUrl}/${room}`)
    cleanup.push(() => joiner.ws.terminate())
    const closed = await joiner.closed
    expect(closed.code).toBe(1011)
    expect(closed.reason).toMatch(/could not load this board/)
    // Nothing was served in place of the board: no sync message at all reached the joiner.
    expect(joiner.frames.map((f) => parseMessage(f).type).filter((t) => t.startsWith('sync'))).toEqual([])

    inst.postgres.restore()
    const after = client(inst, room)
    await synced(after)
    expect(after.doc.getArray('list').toJSON()).toEqual(['drawn before the outage'])
    expect((await storedDoc(room)).getArray('list').toJSON()).toEqual(['drawn before the outage'])
  })
})

describe('configuration for several instances', () => {
  test('[S27] REDIS_URL without DATABASE_URL stops start-up, naming both', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(ConfigError)
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/REDIS_URL.*DATABASE_URL/)
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/)
    expect(loadConfig({ DATABASE_URL: DATABASE_URL, REDIS_URL: REDIS_URL }).REDIS_URL).toBe(REDIS_URL)
  })
})
