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
pub use server::search;

#[cfg(feature = "server")]
pub mod sql {
    //! The search's SQL, built once here for the domain and for the
    //! query-plan test.

    use chrono::{DateTime, Utc};
    use sqlx::{Postgres, QueryBuilder};

    use super::{MIN_NAME_QUERY, SearchQuery};
    use crate::scope::Scope;

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

    /// The whole search (a checked query). With text, the sessions come
    /// from two index lookups, never from a walk over every session in
    /// scope: the messages whose words match (the GIN index), and the
    /// customers whose name or address matches (the trigram indexes), each
    /// narrowed by the scope and the filters; then they are ordered newest
    /// first. Without text, the filters alone, in scope.
    pub fn push_query(
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &Scope,
        query: &SearchQuery,
        cursor: Option<(DateTime<Utc>, uuid::Uuid)>,
        limit: i64,
    ) {
        let text = !query.q.is_empty();
        if text {
            // Each matching message's session is looked up by its key, in
            // scope (`OFFSET 0` keeps the planner from turning the lookups
            // into a scan of every session when it misjudges how many
            // messages match, as it does without statistics for the words).
            q.push(
                "WITH hits AS (SELECT m.session_id, max(m.id) AS message_id
                                 FROM messages m
                                 CROSS JOIN LATERAL (SELECT 1 FROM sessions s WHERE s.id = m.session_id",
            );
            push_filters(q, scope, query);
            q.push(
                " OFFSET 0) in_scope
                                WHERE to_tsvector('simple', m.body) @@ websearch_to_tsquery('simple', ",
            )
            .push_bind(query.q.clone())
            // A query of exclusions alone (`-word`) has nothing the index
            // can look up: it would match almost every message of every
            // account, so it finds no words (a one-time filter, no scan).
            .push(") AND querytree(websearch_to_tsquery('simple', ")
            .push_bind(query.q.clone())
            .push(
                ")) <> 'T'
                                GROUP BY m.session_id),
                 people AS (SELECT s.id AS session_id FROM customers c JOIN sessions s ON s.customer_id = c.id
                             WHERE ",
            );
            if query.q.chars().count() >= MIN_NAME_QUERY {
                q.push("(c.name ILIKE ")
                    .push_bind(contains_pattern(&query.q))
                    .push(" OR c.email::text ILIKE ")
                    .push_bind(contains_pattern(&query.q))
                    .push(")");
            } else {
                // Trigram indexes need three characters; shorter text
                // would read every account's customers.
                q.push("false");
            }
            push_filters(q, scope, query);
            // `found` carries each session's newest matching message, so
            // nothing joins back to `hits` per result (a join the planner
            // once made a rescan of `hits` for every session found:
            // quadratic in the matches, minutes for a common word).
            q.push(
                "),
                 found AS (SELECT session_id, max(message_id) AS message_id
                             FROM (SELECT session_id, message_id FROM hits
                                   UNION ALL SELECT session_id, NULL::int8 FROM people) matched
                            GROUP BY session_id)
                SELECT s.id, s.status, s.support_type_id, st.name AS support_type_name,
                       c.name AS customer_name, c.email::text AS customer_email, s.created_at, f.message_id,
                       (SELECT ts_headline('simple', translate(m.body, E'\\x02\\x03', ''),
                                           websearch_to_tsquery('simple', ",
            )
            .push_bind(query.q.clone())
            .push(
                "), 'StartSel=\"\x02\", StopSel=\"\x03\", MaxWords=30, MinWords=10, \
                     MaxFragments=2, FragmentDelimiter=\" … \"')
                          FROM messages m WHERE m.id = f.message_id) AS headline
                  FROM found f
                  CROSS JOIN LATERAL (SELECT * FROM sessions s WHERE s.id = f.session_id OFFSET 0) s
                  JOIN support_types st ON st.id = s.support_type_id
                  JOIN customers c ON c.id = s.customer_id
                 WHERE true",
            );
        } else {
            q.push(
                "SELECT s.id, s.status, s.support_type_id, st.name AS support_type_name,
                        c.name AS customer_name, c.email::text AS customer_email, s.created_at,
                        NULL::int8 AS message_id, NULL::text AS headline
                   FROM sessions s
                   JOIN support_types st ON st.id = s.support_type_id
                   JOIN customers c ON c.id = s.customer_id
                  WHERE true",
            );
            push_filters(q, scope, query);
        }
        if let Some((at, id)) = cursor {
            q.push(" AND (s.created_at, s.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        q.push(" ORDER BY s.created_at DESC, s.id DESC LIMIT ").push_bind(limit + 1);
    }
}

#[cfg(feature = "server")]
mod server {
    use sqlx::{PgPool, Postgres, QueryBuilder};

    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        scope::Scope,
        sessions::{Page, decode_cursor, encode_cursor, page_limit, paginate},
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
        let scope = Scope::load(pool, actor).await?;
        // Built at run time: the scope's predicate and the filters present
        // are pushed by QueryBuilder, so each shape gets its own plan.
        let mut q = QueryBuilder::<Postgres>::new("");
        super::sql::push_query(&mut q, &scope, &query, cursor, limit);
        let mut tx = pool.begin().await?;
        // A search reads a few rows by index: parallel workers cost more to
        // start (5-20 ms on a small machine) than they save, except for a
        // word in tens of thousands of messages, which is slow either way.
        // Runtime-checked: a utility statement with no parameters and no
        // columns, so the query! macro would have nothing to check.
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0").execute(&mut *tx).await?;
        let rows = q.build_query_as::<Row>().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let hits = rows
            .into_iter()
            .map(|r| SearchHit {
                session_id: SessionId(r.id),
                status: r.status,
                support_type_id: SupportTypeId(r.support_type_id),
                support_type_name: r.support_type_name,
                customer_name: r.customer_name,
                customer_email: r.customer_email,
                created_at: r.created_at,
                message_id: r.message_id,
                snippet: r.headline.as_deref().map(highlights).unwrap_or_default(),
            })
            .collect();
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
