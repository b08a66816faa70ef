//! One search box over sessions: by the words of their messages and by the
//! customer's name or e-mail, narrowed by tag, support type and status.
//! Results are the sessions the caller may see (the scope rule,
//! [`Scope::push_sql`](crate::scope::Scope)), newest first, by cursor, each
//! with the newest message that matched and its matching words marked.
//!
//! Message text is matched with PostgreSQL full-text search:
//! `websearch_to_tsquery` (every word; `"a phrase"`, `or`, `-word`) over
//! the `simple` configuration, through a GIN expression index (migration
//! 0020). `simple` rather than a language's: one account's conversations
//! mix languages, and a stemmer of the wrong one mangles the names, order
//! numbers and error codes agents search for most. The cost: "refund" does
//! not find "refunds" (ask for "refund or refunds"). Names and addresses
//! match anywhere in them (`ILIKE`, trigram-indexed).
//!
//! A word in many messages is read from the account's newest sessions
//! instead of from every match ([`plan_read`]), with the same page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{SessionId, SessionStatus, SupportTypeId};

/// The longest query taken, in characters.
pub const MAX_QUERY: usize = 200;
/// The shortest text matched against names and addresses (their trigram
/// indexes need three characters).
pub const MIN_NAME_QUERY: usize = 3;

/// What to look for. At least one of the text and the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words of a message, or part of the customer's name or e-mail.
    #[serde(default)]
    pub q: String,
    pub status: Option<SessionStatus>,
    pub support_type_id: Option<SupportTypeId>,
    /// A tag's name.
    pub tag: Option<String>,
}

/// A run of a snippet's text, marked when it is a matching word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Highlight {
    pub text: String,
    pub hit: bool,
}

/// One session found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub session_id: SessionId,
    pub status: SessionStatus,
    pub support_type_id: SupportTypeId,
    pub support_type_name: String,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The newest message whose words matched, if one did (else the
    /// customer's name or address matched).
    pub message_id: Option<i64>,
    /// That message, cut around the matches, which are marked.
    pub snippet: Vec<Highlight>,
}

/// Marks put around matching words by `ts_headline`: control characters
/// that are removed from the text first, so no text can forge them.
pub const START: char = '\u{2}';
pub const STOP: char = '\u{3}';

/// Splits a headline into marked and unmarked runs.
pub fn highlights(headline: &str) -> Vec<Highlight> {
    let mut out = Vec::new();
    let mut run = String::new();
    let mut hit = false;
    for c in headline.chars() {
        if c == START || c == STOP {
            let next = c == START;
            if next != hit && !run.is_empty() {
                out.push(Highlight { text: std::mem::take(&mut run), hit });
            }
            hit = next;
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        out.push(Highlight { text: run, hit });
    }
    out
}

impl SearchQuery {
    /// The query as searched: trimmed, at most [`MAX_QUERY`] characters,
    /// and something to search for.
    pub fn checked(mut self) -> crate::Result<Self> {
        self.q = self.q.trim().to_owned();
        if self.q.chars().count() > MAX_QUERY {
            return Err(crate::Error::invalid("q", format!("at most {MAX_QUERY} characters")));
        }
        self.tag = self.tag.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if self.q.is_empty() && self.tag.is_none() && self.support_type_id.is_none() && self.status.is_none()
        {
            return Err(crate::Error::invalid("q", "type something to search for, or choose a filter"));
        }
        Ok(self)
    }
}

#[cfg(feature = "server")]
pub mod sql {
    //! The search's SQL, built once here for the domain and for the
    //! query-plan test.

    use chrono::{DateTime, Utc};
    use sqlx::{Postgres, QueryBuilder};

    use super::{MIN_NAME_QUERY, SearchQuery};
    use crate::{scope::Scope, types::AccountId};

    /// `%text%` for `ILIKE`, with the pattern characters in it escaped.
    pub fn contains_pattern(text: &str) -> String {
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        format!("%{escaped}%")
    }

    /// The filters shared by every part (over the `sessions` row aliased
    /// `s`): the scope rule first.
    fn push_filters(q: &mut QueryBuilder<'_, Postgres>, scope: &Scope, query: &SearchQuery) {
        scope.push_sql(q);
        if let Some(st) = query.status {
            q.push(" AND s.status = ").push_bind(st);
        }
        if let Some(t) = query.support_type_id {
            q.push(" AND s.support_type_id = ").push_bind(t);
        }
        if let Some(tag) = &query.tag {
            q.push(
                " AND EXISTS (SELECT 1 FROM session_tags stg JOIN tags t ON t.id = stg.tag_id
                               WHERE stg.session_id = s.id AND t.name = ",
            )
            .push_bind(tag.clone())
            .push("::citext)");
        }
    }

    /// The words part: the message `m`'s words match the text. A query of
    /// exclusions alone (`-word`) has nothing the index can look up: it
    /// would match almost every message of every account, so it finds no
    /// words (a one-time filter, no scan).
    fn push_words(q: &mut QueryBuilder<'_, Postgres>, query: &SearchQuery) {
        q.push("to_tsvector('simple', m.body) @@ websearch_to_tsquery('simple', ")
            .push_bind(query.q.clone())
            .push(") AND querytree(websearch_to_tsquery('simple', ")
            .push_bind(query.q.clone())
            .push(")) <> 'T'");
    }

    /// The people part: the customer `c`'s name or address contains the
    /// text. Trigram indexes need three characters; shorter text would read
    /// every account's customers, so it matches no one.
    fn push_people(q: &mut QueryBuilder<'_, Postgres>, query: &SearchQuery) {
        if query.q.chars().count() >= MIN_NAME_QUERY {
            q.push("(c.name ILIKE ")
                .push_bind(contains_pattern(&query.q))
                .push(" OR c.email::text ILIKE ")
                .push_bind(contains_pattern(&query.q))
                .push(")");
        } else {
            q.push("false");
        }
    }

    /// A result's columns, over the session `s`, its type `st` and customer
    /// `c`, with `message` naming the newest matching message's id.
    fn push_columns(q: &mut QueryBuilder<'_, Postgres>, query: &SearchQuery, message: &str) {
        q.push(format_args!(
            "SELECT s.id, s.status, s.support_type_id, st.name AS support_type_name,
                    c.name AS customer_name, c.email::text AS customer_email, s.created_at,
                    {message} AS message_id,
                    (SELECT ts_headline('simple', translate(m.body, E'\\x02\\x03', ''),
                                        websearch_to_tsquery('simple', "
        ))
        .push_bind(query.q.clone())
        .push(format_args!(
            "), 'StartSel=\"\x02\", StopSel=\"\x03\", MaxWords=30, MinWords=10, \
                 MaxFragments=2, FragmentDelimiter=\" … \"')
                       FROM messages m WHERE m.id = {message}) AS headline"
        ));
    }

    /// The page's end: after the cursor, newest first, one more than the
    /// page (so the caller knows whether another follows).
    fn push_page(
        q: &mut QueryBuilder<'_, Postgres>,
        cursor: Option<(DateTime<Utc>, uuid::Uuid)>,
        limit: i64,
    ) {
        if let Some((at, id)) = cursor {
            q.push(" AND (s.created_at, s.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        q.push(" ORDER BY s.created_at DESC, s.id DESC LIMIT ").push_bind(limit + 1);
    }

    /// The whole search (a checked query) through the indexes of what
    /// matches. With text, the sessions come from two index lookups, never
    /// from a walk over every session in scope: the messages whose words
    /// match (the GIN index), and the customers whose name or address
    /// matches (the trigram indexes), each narrowed by the scope and the
    /// filters; then they are ordered newest first. It reads every match,
    /// in every account (one GIN index serves them all): for a common word
    /// [`push_newest`] reads less. Without text, the filters alone, in
    /// scope.
    pub fn push_query(
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &Scope,
        query: &SearchQuery,
        cursor: Option<(DateTime<Utc>, uuid::Uuid)>,
        limit: i64,
    ) {
        if query.q.is_empty() {
            push_columns(q, query, "NULL::int8");
            q.push(
                " FROM sessions s
                   JOIN support_types st ON st.id = s.support_type_id
                   JOIN customers c ON c.id = s.customer_id
                  WHERE true",
            );
            push_filters(q, scope, query);
            push_page(q, cursor, limit);
            return;
        }
        // The matching messages are grouped by session first, then each
        // session is looked up once by its key, in scope (`OFFSET 0` keeps
        // the planner from turning the lookups into a scan of every session
        // when it misjudges how many messages match, as it does without
        // statistics for the words), and only the page's sessions are
        // joined to their type and customer.
        q.push("WITH hits AS (SELECT m.session_id, max(m.id) AS message_id FROM messages m WHERE ");
        push_words(q, query);
        q.push(
            " GROUP BY m.session_id),
             people AS (SELECT s.id AS session_id FROM customers c JOIN sessions s ON s.customer_id = c.id
                         WHERE ",
        );
        push_people(q, query);
        push_filters(q, scope, query);
        // `found` carries each session's newest matching message, so
        // nothing joins back to `hits` per result (a join the planner once
        // made a rescan of `hits` for every session found: quadratic in the
        // matches, minutes for a common word).
        q.push(
            "),
             found AS (SELECT session_id, max(message_id) AS message_id
                         FROM (SELECT session_id, message_id FROM hits
                               UNION ALL SELECT session_id, NULL::int8 FROM people) matched
                        GROUP BY session_id),
             page AS (SELECT s.*, f.message_id FROM found f
                       CROSS JOIN LATERAL (SELECT * FROM sessions s WHERE s.id = f.session_id",
        );
        push_filters(q, scope, query);
        q.push(" OFFSET 0) s WHERE true");
        push_page(q, cursor, limit);
        q.push(") ");
        push_columns(q, query, "s.message_id");
        q.push(
            " FROM page s
               JOIN support_types st ON st.id = s.support_type_id
               JOIN customers c ON c.id = s.customer_id
              ORDER BY s.created_at DESC, s.id DESC",
        );
    }

    /// The same search (with text) by reading the account's sessions
    /// newest first, from the newest down to `from` (inclusive; None: to
    /// the oldest), each
    /// checked for a matching message or customer: the cheaper read for a
    /// word in many messages, whose page fills within the newest sessions.
    /// Each session's messages are read through `messages_history` and
    /// their words matched one by one; no index of every match is read.
    pub fn push_newest(
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &Scope,
        query: &SearchQuery,
        account: AccountId,
        from: Option<(DateTime<Utc>, uuid::Uuid)>,
        cursor: Option<(DateTime<Utc>, uuid::Uuid)>,
        limit: i64,
    ) {
        push_columns(q, query, "w.message_id");
        q.push(
            " FROM sessions s
               JOIN support_types st ON st.id = s.support_type_id
               JOIN customers c ON c.id = s.customer_id
               CROSS JOIN LATERAL (SELECT max(m.id) AS message_id FROM messages m
                                    WHERE m.session_id = s.id AND ",
        );
        push_words(q, query);
        q.push(") w WHERE s.account_id = ").push_bind(account);
        if let Some((at, id)) = from {
            q.push(" AND (s.created_at, s.id) >= (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        push_filters(q, scope, query);
        q.push(" AND (w.message_id IS NOT NULL OR ");
        push_people(q, query);
        q.push(")");
        push_page(q, cursor, limit);
    }
}

#[cfg(feature = "server")]
pub use server::{Read, find, plan_read, search};

#[cfg(feature = "server")]
mod server {
    use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        scope::Scope,
        sessions::{Page, decode_cursor, encode_cursor, page_limit, paginate},
        types::AccountId,
    };

    #[derive(sqlx::FromRow)]
    struct Row {
        id: uuid::Uuid,
        status: SessionStatus,
        support_type_id: uuid::Uuid,
        support_type_name: String,
        customer_name: Option<String>,
        customer_email: Option<String>,
        created_at: DateTime<Utc>,
        message_id: Option<i64>,
        headline: Option<String>,
    }

    /// How a search with text reads what matches.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Read {
        /// Every match, through the indexes of words, names and addresses.
        Matches,
        /// The account's newest `sessions` (in its scope or not), each
        /// checked; when they do not fill the page, every match after all.
        Newest { account: AccountId, sessions: i64 },
    }

    /// The cheaper read for `query`, chosen as suggestions choose theirs
    /// ([`crate::assist::newest_to_read`]): the planner's estimate of the
    /// messages the words match (from the GIN index's statistics, which
    /// keep the frequent words: close for a common word, small for a rare
    /// one) against the messages a page needs from the newest sessions.
    /// Either way about `2 · √(page · messages)` rows at most are read
    /// (some 45,000 at 10M messages, against every match before). A
    /// caller without an account (the operator) always reads the matches.
    pub async fn plan_read(
        conn: &mut PgConnection,
        scope: &Scope,
        query: &SearchQuery,
        limit: i64,
    ) -> Result<Read> {
        // Only a whole account or an agent's part of one has sessions to
        // walk; the operator's reach is every account's.
        let account = match scope {
            Scope::Account { account } | Scope::Agent { account, .. } if !query.q.is_empty() => *account,
            _ => return Ok(Read::Matches),
        };
        // Runtime-checked: EXPLAIN is a utility statement, which the query!
        // macro cannot describe. Its estimate is planned with the text
        // bound (a custom plan), and an exclusion-only text estimates none.
        let plan: serde_json::Value = sqlx::query_scalar(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages m
              WHERE to_tsvector('simple', m.body) @@ websearch_to_tsquery('simple', $1)
                AND querytree(websearch_to_tsquery('simple', $1)) <> 'T'",
        )
        .bind(&query.q)
        .fetch_one(&mut *conn)
        .await?;
        let matched = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or_default() as i64;
        let sizes = sqlx::query!(
            r#"SELECT (SELECT reltuples FROM pg_class WHERE oid = 'messages'::regclass)::int8 AS "messages!",
                      (SELECT reltuples FROM pg_class WHERE oid = 'sessions'::regclass)::int8 AS "sessions!""#
        )
        .fetch_one(&mut *conn)
        .await?;
        // Never analysed: no statistics to choose by.
        if sizes.messages <= 0 || sizes.sessions <= 0 {
            return Ok(Read::Matches);
        }
        let messages = crate::assist::newest_to_read(matched, sizes.messages, limit + 1);
        if messages == 0 {
            return Ok(Read::Matches);
        }
        // The messages to read, as sessions of the average length.
        let sessions = (messages as f64 * sizes.sessions as f64 / sizes.messages as f64).ceil() as i64;
        Ok(Read::Newest { account, sessions: sessions.max(limit + 1) })
    }

    /// One page (and one more row) of the search, read as `read` says.
    pub async fn find(
        conn: &mut PgConnection,
        scope: &Scope,
        query: &SearchQuery,
        cursor: Option<(DateTime<Utc>, uuid::Uuid)>,
        limit: i64,
        read: Read,
    ) -> Result<Vec<SearchHit>> {
        if let Read::Newest { account, sessions } = read {
            // The oldest session of the walk: the `sessions`-th newest of
            // the account after the cursor (an index-only read), or none
            // when the account has fewer, and the walk is then complete.
            let after = cursor.unwrap_or((DateTime::<Utc>::MAX_UTC, uuid::Uuid::max()));
            let from = sqlx::query!(
                r#"SELECT s.created_at, s.id FROM sessions s
                    WHERE s.account_id = $1 AND (s.created_at, s.id) < ($2, $3)
                    ORDER BY s.created_at DESC, s.id DESC OFFSET $4::int8 - 1 LIMIT 1"#,
                account.0,
                after.0,
                after.1,
                sessions,
            )
            .fetch_optional(&mut *conn)
            .await?;
            let from = from.map(|r| (r.created_at, r.id));
            // Built at run time, like the read of every match below: the
            // scope's predicate and the filters present are pushed by
            // QueryBuilder, so each shape gets its own plan.
            let mut q = QueryBuilder::<Postgres>::new("");
            super::sql::push_newest(&mut q, scope, query, account, from, cursor, limit);
            let rows = q.build_query_as::<Row>().fetch_all(&mut *conn).await?;
            // A full page from the newest sessions is the page; so is
            // anything found when they were all of the account's.
            if rows.len() as i64 > limit || from.is_none() {
                return Ok(rows.into_iter().map(hit).collect());
            }
        }
        let mut q = QueryBuilder::<Postgres>::new("");
        super::sql::push_query(&mut q, scope, query, cursor, limit);
        let rows = q.build_query_as::<Row>().fetch_all(&mut *conn).await?;
        Ok(rows.into_iter().map(hit).collect())
    }

    fn hit(r: Row) -> SearchHit {
        SearchHit {
            session_id: SessionId(r.id),
            status: r.status,
            support_type_id: SupportTypeId(r.support_type_id),
            support_type_name: r.support_type_name,
            customer_name: r.customer_name,
            customer_email: r.customer_email,
            created_at: r.created_at,
            message_id: r.message_id,
            snippet: r.headline.as_deref().map(highlights).unwrap_or_default(),
        }
    }

    /// The sessions `actor` may see that match, newest first.
    pub async fn search(
        pool: &PgPool,
        actor: &Actor,
        query: SearchQuery,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<SearchHit>> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot search sessions"));
        }
        let limit = page_limit(limit)?;
        let cursor = cursor.map(decode_cursor).transpose()?;
        let query = query.checked()?;
        let mut tx = pool.begin().await?;
        let scope = Scope::of(&mut tx, actor).await?;
        // A search reads a few rows by index: parallel workers cost more to
        // start (5-20 ms on a small machine) than they save, except for a
        // word in tens of thousands of messages, which is slow either way.
        // Runtime-checked: a utility statement with no parameters and no
        // columns, so the query! macro would have nothing to check.
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0").execute(&mut *tx).await?;
        let read = plan_read(&mut tx, &scope, &query, limit).await?;
        let hits = find(&mut tx, &scope, &query, cursor, limit, read).await?;
        tx.commit().await?;
        Ok(paginate(hits, limit, |h| encode_cursor(h.created_at, h.session_id.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_split_into_marked_runs() {
        let h = highlights("my \u{2}invoice\u{3} 4711 and \u{2}invoice\u{3}");
        assert_eq!(
            h,
            vec![
                Highlight { text: "my ".into(), hit: false },
                Highlight { text: "invoice".into(), hit: true },
                Highlight { text: " 4711 and ".into(), hit: false },
                Highlight { text: "invoice".into(), hit: true },
            ]
        );
        assert_eq!(highlights(""), vec![]);
        assert_eq!(highlights("plain"), vec![Highlight { text: "plain".into(), hit: false }]);
    }

    #[test]
    fn a_query_needs_text_or_a_filter_and_has_a_length() {
        assert!(SearchQuery { q: "  ".into(), ..Default::default() }.checked().is_err());
        assert!(SearchQuery { q: "x".repeat(MAX_QUERY + 1), ..Default::default() }.checked().is_err());
        let q = SearchQuery { q: " invoice ".into(), ..Default::default() }.checked().expect("ok");
        assert_eq!(q.q, "invoice");
        assert!(SearchQuery { tag: Some("vip".into()), ..Default::default() }.checked().is_ok());
    }
}
