-- Foundation: extensions the data model relies on.
-- citext gives case-insensitive e-mail addresses and slugs.
CREATE EXTENSION IF NOT EXISTS citext;
