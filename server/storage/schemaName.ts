/**
 * PostgreSQL schema names sketchroom accepts (DATABASE_SCHEMA): lower-case, unquoted
 * identifiers, so a name never needs escaping in DDL. One rule for the config check and
 * the store.
 */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/

export function isSchemaName(name: string): boolean {
  return SCHEMA_NAME_PATTERN.test(name)
}
