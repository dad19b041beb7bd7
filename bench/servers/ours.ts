/** Our server on SQLite (the default store), as `npm run sync` starts it. */
import { serveOurs } from './ourServer'

await serveOurs()
