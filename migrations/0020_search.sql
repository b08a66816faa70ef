-- Issue 11: one search box over sessions (domain::search).
--
-- Messages' words, through the `simple` configuration (no language's
-- stemmer: accounts mix languages, and agents search for names, order
-- numbers and error codes). An expression index, so the table is not
-- rewritten; the query repeats the same expression to use it.
CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', body));

-- Customers by any part of their name or address (ILIKE '%…%').
CREATE INDEX customers_name_trgm ON customers USING gin (name gin_trgm_ops);
CREATE INDEX customers_email_trgm ON customers USING gin ((email::text) gin_trgm_ops);
