/**
 * What `--db` names: a SQLite file path, or a PostgreSQL server (`postgres://` or
 * `postgresql://` URL). A URL may hold a password; `describeDatabase` is the only form that
 * goes into logs, status output, pages, metrics and error messages.
 */

/** Where the events go: a SQLite file or a PostgreSQL database. */
export type DatabaseTarget =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

const POSTGRES_SCHEMES = /^postgres(ql)?:\/\//i;

/** Whether `db` is a PostgreSQL URL (anything else is a SQLite path). */
export function isPostgresUrl(db: string): boolean {
  return POSTGRES_SCHEMES.test(db);
}

/** Reads `--db`. */
export function databaseTarget(db: string): DatabaseTarget {
  return isPostgresUrl(db) ? { kind: "postgres", url: db } : { kind: "sqlite", path: db };
}

/**
 * `db` as it may be shown anywhere: a path as given; a URL as `postgres://user@host:port/name`
 * (no password, no query parameters, which may carry one too). A URL that does not parse
 * becomes `postgres://(unparsable URL)`, never the text itself.
 */
export function describeDatabase(db: string): string {
  if (!isPostgresUrl(db)) return db;
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    return "postgres://(unparsable URL)";
  }
  const user = url.username ? `${url.username}@` : "";
  return `postgres://${user}${url.host}${url.pathname}`;
}
