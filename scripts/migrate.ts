// `npm run migrate`: creates sketchroom's PostgreSQL schema and tables (server/storage/schema.sql)
// in DATABASE_URL / DATABASE_SCHEMA. Instances do the same on start; this is for
// deployments that prefer to run migrations as a separate step, before rolling out.
import { loadConfig } from '../server/config'
import { ConfigError } from '../server/errors'
import { PostgresStore } from '../server/storage/PostgresStore'

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set: nothing to migrate (SQLite needs no migration)')
  const store = new PostgresStore({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, timeoutMs: config.DATABASE_TIMEOUT_MS })
  try {
    await store.migrate()
  } finally {
    await store.close()
  }
  console.log(`sketchroom: schema "${config.DATABASE_SCHEMA}" is up to date`)
}

main().catch((err: unknown) => {
  console.error(`sketchroom: migrate failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
