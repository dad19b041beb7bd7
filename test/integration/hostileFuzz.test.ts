/**
 * [S52] Convergence fuzz on tldraw records with a hostile client mixing invalid writes
 * into its edits. The honest clients must end with identical, valid boards.
 * HOSTILE_FUZZ_SEED replays a run; HOSTILE_FUZZ_STEPS makes it longer.
 */
import { expect, test } from 'vitest'
import * as Y from 'yjs'
import { assertValidBoard, geoShape, noteShape, records, seedBoard } from '../abuse/board'
import { connectClient, prng, sleep, startTestServer, synced, type TestClient, testScope, waitFor } from '../helpers'

const { defer } = testScope()

test('[S52] honest clients converge to identical valid boards while a hostile client writes invalid records', async () => {
  const seed = Number(process.env.HOSTILE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const steps = Number(process.env.HOSTILE_FUZZ_STEPS ?? 600)
  const rnd = prng(seed)
  try {
    // Offences would close the hostile client; it reconnects and carries on, which is part of the test.
    const s = await startTestServer({ MAX_OFFENCES: '25' })
    defer(() => s.close())
    const join = () => {
      const c = connectClient(s.wsUrl, 'hostile-room')
      defer(() => c.destroy())
      return c
    }
    const honest: TestClient[] = [join(), join(), join()]
    const hostile = join()
    await synced(...honest, hostile)
    seedBoard(honest[0]!.doc)
    await waitFor(() => honest.every((c) => records(c.doc).has('page:page')), 'the seeded board everywhere')

    const ids = Array.from({ length: 12 }, (_, i) => `shape:s${i}`)
    const invalid = (id: string) => {
      switch (rnd.int(6)) {
        case 0:
          return { ...geoShape(id), x: Number.NaN }
        case 1:
          return { ...geoShape(id), type: 'rocket' }
        case 2:
          return geoShape('shape:other-id')
        case 3:
          return noteShape(id, { color: 'ultraviolet' })
        case 4:
          return { ...geoShape(id), props: null }
        default:
          return 'not a record'
      }
    }
    for (let step = 0; step < steps; step++) {
      const roll = rnd.next()
      const id = ids[rnd.int(ids.length)]!
      if (roll < 0.25) {
        // Hostile: an invalid write, a forbidden delete, or a valid edit to blend in.
        const kv = records(hostile.doc)
        const r = rnd.next()
        if (r < 0.6) kv.set(id, invalid(id))
        else if (r < 0.7) kv.delete(rnd.next() < 0.5 ? 'document:document' : 'page:page')
        else kv.set(id, geoShape(id, { w: 1 + rnd.int(500) }))
      } else {
        const c = honest[rnd.int(honest.length)]!
        const kv = records(c.doc)
        const r = rnd.next()
        if (r < 0.6) kv.set(id, { ...geoShape(id, { w: 1 + rnd.int(500), h: 1 + rnd.int(500) }), x: rnd.int(2000), y: rnd.int(2000) })
        else if (r < 0.8) kv.delete(id)
        else if (r < 0.9) kv.set(id, noteShape(id, { growY: rnd.int(50) }))
        else if (c.provider.shouldConnect) c.provider.disconnect()
        else c.provider.connect()
      }
      if (rnd.next() < 0.3) await sleep(rnd.int(8))
    }
    for (const c of honest) if (!c.provider.shouldConnect) c.provider.connect()
    const snapshot = (doc: Y.Doc) => {
      const kv = records(doc)
      return JSON.stringify([...kv.map.keys()].sort().map((k) => [k, kv.get(k)]))
    }
    await waitFor(
      () => honest.every((c) => c.provider.synced && snapshot(c.doc) === snapshot(honest[0]!.doc)),
      'the honest clients to converge',
      30_000,
    ).catch((err: unknown) => {
      // What each honest client holds, to tell a stuck connection from diverged documents.
      const states = honest.map((c, i) => {
        const kv = records(c.doc)
        const differing = [...new Set([...kv.map.keys(), ...records(honest[0]!.doc).map.keys()])].filter(
          (k) => JSON.stringify(kv.get(k)) !== JSON.stringify(records(honest[0]!.doc).get(k)),
        )
        return `client ${i}: connected ${c.provider.wsconnected}, synced ${c.provider.synced}, same Yjs state as client 0 ${Y.equalSnapshots(Y.snapshot(c.doc), Y.snapshot(honest[0]!.doc))}, ${kv.map.size} records, differing from client 0: ${differing.join(' ') || 'none'}`
      })
      console.error(`[S52] not converged:\n${states.join('\n')}`)
      throw err
    })
    for (const c of honest) assertValidBoard(c.doc)
    // The server's own copy, as a fresh client sees it, is the same board.
    const fresh = join()
    await synced(fresh)
    await waitFor(() => snapshot(fresh.doc) === snapshot(honest[0]!.doc), 'a fresh client to see the same board')
    assertValidBoard(fresh.doc)
    expect(records(fresh.doc).map.size).toBeGreaterThan(2)
  } catch (err) {
    console.error(`[S52] hostile fuzz failed with HOSTILE_FUZZ_SEED=${seed} HOSTILE_FUZZ_STEPS=${steps}`)
    throw err
  }
})
