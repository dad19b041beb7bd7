/**
 * Our server as one of several instances: PostgreSQL + Redis from the parent's env
 * (DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, REDIS_PREFIX), started as `npm run sync` would.
 */
import { serveOurs } from './ourServer'

const { DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, REDIS_PREFIX } = process.env
await serveOurs({ DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, REDIS_PREFIX })
