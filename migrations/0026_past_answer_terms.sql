-- Term statistics of each type's past answers, so that retrieval
-- (domain::assist::retrieve) reads a question's document frequencies and the
-- corpus size from a few index rows instead of counting past_answers on
-- every request. At a year of history (scenario 5 of bench/: ~180,000 pairs
-- in one type) those counts and the any-word match read past_answers whole,
-- three times per suggestion.
--
-- Both tables are kept by statement-level triggers on past_answers, in the
-- same transaction as the rows they count, so they are exact. A count may
-- fall to 0 and its row stay; being derived, the rows go with their type.
-- Rows are upserted in key order, so two concurrent harvests of one type
-- wait for each other and never deadlock.

CREATE TABLE past_answer_corpus (
    support_type_id uuid PRIMARY KEY REFERENCES support_types (id) ON DELETE CASCADE,
    docs            bigint NOT NULL CHECK (docs >= 0)
);

-- `lexeme` is in the "C" collation so that a prefix (`deduct:*`) is one
-- range of the primary key.
CREATE TABLE past_answer_terms (
    support_type_id uuid NOT NULL REFERENCES support_types (id) ON DELETE CASCADE,
    lexeme          text COLLATE "C" NOT NULL,
    docs            bigint NOT NULL CHECK (docs >= 0),
    PRIMARY KEY (support_type_id, lexeme)
);

CREATE FUNCTION past_answer_terms_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO past_answer_corpus (support_type_id, docs)
    SELECT support_type_id, count(*) FROM new_rows GROUP BY 1 ORDER BY 1
    ON CONFLICT (support_type_id) DO UPDATE SET docs = past_answer_corpus.docs + excluded.docs;
    INSERT INTO past_answer_terms (support_type_id, lexeme, docs)
    SELECT n.support_type_id, t.lexeme, count(*)
    FROM new_rows n, unnest(n.search) AS t(lexeme, positions, weights)
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (support_type_id, lexeme) DO UPDATE SET docs = past_answer_terms.docs + excluded.docs;
    RETURN NULL;
END $$;

-- A term's row stays at 0 rather than being deleted: a delete racing an
-- insert of the same term must not lose the insert's count.
CREATE FUNCTION past_answer_terms_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Lock in key order, as the inserts do.
    PERFORM 1 FROM past_answer_corpus c
    WHERE c.support_type_id IN (SELECT support_type_id FROM old_rows)
    ORDER BY c.support_type_id FOR UPDATE;
    PERFORM 1 FROM past_answer_terms p
    WHERE (p.support_type_id, p.lexeme) IN
          (SELECT r.support_type_id, t.lexeme FROM old_rows r, unnest(r.search) AS t(lexeme, positions, weights))
    ORDER BY p.support_type_id, p.lexeme FOR UPDATE;
    UPDATE past_answer_corpus c SET docs = c.docs - o.docs
    FROM (SELECT support_type_id, count(*) AS docs FROM old_rows GROUP BY 1) o
    WHERE c.support_type_id = o.support_type_id;
    UPDATE past_answer_terms p SET docs = p.docs - o.docs
    FROM (SELECT r.support_type_id, t.lexeme, count(*) AS docs
          FROM old_rows r, unnest(r.search) AS t(lexeme, positions, weights) GROUP BY 1, 2) o
    WHERE p.support_type_id = o.support_type_id AND p.lexeme = o.lexeme;
    RETURN NULL;
END $$;

CREATE TRIGGER past_answer_terms_insert AFTER INSERT ON past_answers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION past_answer_terms_add();
CREATE TRIGGER past_answer_terms_delete AFTER DELETE ON past_answers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION past_answer_terms_remove();
CREATE TRIGGER past_answer_terms_update_old AFTER UPDATE ON past_answers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION past_answer_terms_remove();
CREATE TRIGGER past_answer_terms_update_new AFTER UPDATE ON past_answers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION past_answer_terms_add();

-- The pairs harvested before this migration.
INSERT INTO past_answer_corpus (support_type_id, docs)
SELECT support_type_id, count(*) FROM past_answers GROUP BY 1;
INSERT INTO past_answer_terms (support_type_id, lexeme, docs)
SELECT p.support_type_id, t.lexeme, count(*)
FROM past_answers p, unnest(p.search) AS t(lexeme, positions, weights) GROUP BY 1, 2;

-- A question's candidates are the past answers of one type that contain its
-- rarest words: one GIN index on both, so that the type's rows are not
-- found by intersecting a B-tree range of the whole type (btree_gin gives
-- GIN the uuid column).
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX past_answers_type_search ON past_answers USING gin (support_type_id, search);
DROP INDEX past_answers_search;
