//! Choosing the consumers a sidecar runs (`--only`).

use std::sync::Arc;

use crate::Handler;

/// Picks the handlers named in `only` (comma-separated, e.g.
/// `notifications,tagging`) out of `all`, or all of them when `only` is
/// `None`. An unknown or empty selection is an error listing the valid names.
pub fn select_handlers(
    only: Option<&str>,
    all: Vec<Arc<dyn Handler>>,
) -> Result<Vec<Arc<dyn Handler>>, String> {
    let Some(only) = only else { return Ok(all) };
    let valid = || all.iter().map(|h| h.name()).collect::<Vec<_>>().join(", ");
    let mut wanted: Vec<&str> = only.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(format!("--only names no consumer; valid consumers: {}", valid()));
    }
    let unknown: Vec<&str> = wanted.iter().copied().filter(|w| !all.iter().any(|h| h.name() == *w)).collect();
    if !unknown.is_empty() {
        return Err(format!("unknown consumer(s): {}; valid consumers: {}", unknown.join(", "), valid()));
    }
    Ok(all.into_iter().filter(|h| wanted.contains(&h.name())).collect())
}

#[cfg(test)]
mod tests {
    use super::select_handlers;
    use crate::{BoxFuture, Handler, HandlerError};

    struct Named(&'static str);
    impl Handler for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn bindings(&self) -> &'static [&'static str] {
            &["#"]
        }
        fn handle<'a>(
            &'a self,
            _tx: &'a mut sqlx::PgConnection,
            _event: &'a domain::outbox::Event,
        ) -> BoxFuture<'a, Result<(), HandlerError>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn all() -> Vec<std::sync::Arc<dyn Handler>> {
        ["notifications", "presence", "tagging"]
            .into_iter()
            .map(|n| std::sync::Arc::new(Named(n)) as _)
            .collect()
    }

    fn names(only: Option<&str>) -> Result<Vec<&'static str>, String> {
        select_handlers(only, all()).map(|hs| hs.iter().map(|h| h.name()).collect())
    }

    #[test]
    fn only_selects_named_consumers() {
        assert_eq!(names(None).expect("valid selection"), ["notifications", "presence", "tagging"]);
        assert_eq!(
            names(Some("notifications,tagging")).expect("valid selection"),
            ["notifications", "tagging"]
        );
        assert_eq!(names(Some(" tagging , ")).expect("valid selection"), ["tagging"]);
    }

    #[test]
    fn only_rejects_unknown_names_listing_the_valid_ones() {
        let err = names(Some("tagging,blasts")).expect_err("invalid selection");
        assert!(err.contains("blasts"), "{err}");
        assert!(err.contains("notifications, presence, tagging"), "{err}");
        let err = names(Some(",")).expect_err("invalid selection");
        assert!(err.contains("valid consumers"), "{err}");
    }
}
