import { randomBytes } from 'node:crypto'
import { afterAll } from 'vitest'
import { PostgresStore } from './PostgresStore'
import { sharedStoreContract, storeContract } from './Store.contract'

/** The real PostgreSQL of this machine (or CI); each run works in its own schema. */
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schemas = new Set<string>()
const stores: PostgresStore[] = []

function newSchema(): string {
  const schema = `sketchroom_test_${randomBytes(6).toString('hex')}`
  schemas.add(schema)
  return schema
}

async function openStore(schema: string): Promise<PostgresStore> {
  const store = new PostgresStore({ url, schema, timeoutMs: 5000 })
  await store.migrate()
  stores.push(store)
  return store
}

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  for (const schema of schemas) {
    const store = new PostgresStore({ url, schema })
    await store.dropSchema()
    await store.close()
  }
})

storeContract('PostgreSQL', async () => {
  const schema = newSchema()
  return { store: await openStore(schema), reopen: () => openStore(schema) }
})

sharedStoreContract('PostgreSQL', async () => {
  const schema = newSchema()
  return { a: await openStore(schema), b: await openStore(schema) }
})
