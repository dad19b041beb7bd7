/**
 * Where a board lives inside its Y.Doc. Shared by the browser binding and the server's
 * validator, so both read the same places.
 */
export const RECORDS_KEY = 'records'
export const META_KEY = 'meta'
export const SCHEMA_KEY = 'schema'
export const TITLE_KEY = 'title'
export const MAX_TITLE_LENGTH = 200
/** The one document record every board has. */
export const DOCUMENT_RECORD_ID = 'document:document'
