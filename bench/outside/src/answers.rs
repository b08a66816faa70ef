//! Answer quality through the product, on a public FAQ data set (PyPI's
//! `zaragoza-construction-faq`, 503 English Q&As, CC-BY-4.0;
//! `scripts/lib.sh` `ensure_faq` installs it and sets `FAQ_DATA`).
//!
//! An admin loads the FAQ as a support type's canned replies
//! (`POST /api/v1/canned-responses`). Then each differently worded customer
//! question of `bench/data/faq-paraphrases.jsonl` (written by us, never the
//! stored questions) opens a chat; the agent who takes it asks for
//! suggested replies (`GET /sessions/{id}/suggestions`, the composer's
//! chips: the top 3) and resolves it. A hit is the paraphrased entry or
//! another entry with the very same question (the set repeats a few).
//!
//! Reports MRR@3, the top-1 and top-3 hit rates, how the confidence splits
//! right from wrong answers at the type's threshold, and the request's
//! latency. (MRR@10 of the retrieval itself, beneath the three chips, is
//! asserted by `domain/tests/bots.rs`.)

use std::{collections::HashMap, time::Instant};

use serde_json::{Value, json};

use crate::common::{self, Api, Error, id, percentiles};

fn read_jsonl(path: &str) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{path}:{}: {e}", i + 1).into()))
        .collect()
}

fn text(row: &Value, field: &str) -> Result<String, Error> {
    row.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {field:?} in {row}").into())
}

/// A canned-reply shortcut from an FAQ id.
fn shortcut(id: &str) -> String {
    id.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .take(40)
        .collect()
}

/// Where the right answer ranked in each list of suggestions (`None`: not
/// among them): MRR, top-1 and top-k hit rates.
fn ranks_summary(ranks: &[Option<usize>]) -> (f64, f64, f64) {
    let n = ranks.len().max(1) as f64;
    let rr: f64 = ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / (r as f64 + 1.0))).sum();
    let top1 = ranks.iter().filter(|r| **r == Some(0)).count() as f64;
    let any = ranks.iter().filter(|r| r.is_some()).count() as f64;
    (rr / n, top1 / n, any / n)
}

/// Returns the figure, the raw limit, the ratio and the data.
pub async fn quality(
    api: &Api,
    admin: &str,
    account: &str,
    agent_no: usize,
    slug: &str,
    faq_path: &str,
    paraphrases_path: &str,
) -> Result<(String, String, String, Value), Error> {
    let faq = read_jsonl(faq_path)?;
    let queries = read_jsonl(paraphrases_path)?;
    let ty = common::support_type(api, admin, account, slug).await?;
    let threshold =
        api.call(reqwest::Method::GET, admin, &format!("/support-types/{ty}/bot"), None).await?["threshold"]
            .as_f64()
            .ok_or("the type's bot settings name no threshold")?;
    let (agent, token) =
        common::agent(api, admin, account, agent_no, 5, std::slice::from_ref(&ty), None).await?;

    // The entries that share each normalised question.
    let mut same_question: HashMap<String, Vec<String>> = HashMap::new();
    let mut question_of: HashMap<String, String> = HashMap::new();
    let mut faq_of_canned: HashMap<String, String> = HashMap::new();
    for row in &faq {
        let (fid, q, a) = (text(row, "id")?, text(row, "q")?, text(row, "a")?);
        let norm = q.trim().to_lowercase();
        same_question.entry(norm.clone()).or_default().push(fid.clone());
        question_of.insert(fid.clone(), norm);
        let canned = api
            .post(
                admin,
                "/canned-responses",
                json!({ "account_id": account, "support_type_id": ty, "shortcut": shortcut(&format!("{slug}-{fid}")),
                        "title": q.chars().take(120).collect::<String>(), "body": a.chars().take(5000).collect::<String>() }),
            )
            .await?;
        faq_of_canned.insert(id(&canned)?, fid);
    }

    let (mut ranks, mut latencies) = (Vec::new(), Vec::new());
    let (mut confident, mut confident_right, mut unconfident_right) = (0, 0, 0);
    for query in &queries {
        let (target, q) = (text(query, "id")?, text(query, "q")?);
        let norm = question_of.get(&target).ok_or_else(|| format!("paraphrase of unknown entry {target}"))?;
        let relevant = &same_question[norm];
        let (session, _) = common::open_chat(api, slug, &q).await?;
        let owner = common::owner_of(api, admin, &session).await?;
        if owner != agent {
            return Err(format!("session {session} went to {owner}, not the FAQ agent").into());
        }
        let t = Instant::now();
        let got =
            api.call(reqwest::Method::GET, &token, &format!("/sessions/{session}/suggestions"), None).await?;
        latencies.push(t.elapsed());
        let items = got["items"].as_array().cloned().unwrap_or_default();
        let ids: Vec<Option<&String>> = items
            .iter()
            .map(|s| {
                s["sources"]
                    .as_array()
                    .and_then(|src| src.first())
                    .and_then(|src| (src["kind"] == "canned_response").then(|| src["id"].as_str()).flatten())
            })
            .map(|c| c.and_then(|c| faq_of_canned.get(c)))
            .collect();
        let rank = ids.iter().position(|f| f.is_some_and(|f| relevant.contains(f)));
        ranks.push(rank);
        let top_confidence = items.first().and_then(|s| s["confidence"].as_f64()).unwrap_or(0.0);
        if top_confidence >= threshold {
            confident += 1;
            confident_right += usize::from(rank == Some(0));
        } else {
            unconfident_right += usize::from(rank == Some(0));
        }
        api.post(&token, &format!("/sessions/{session}/resolve"), json!({})).await?;
    }
    let (mrr, top1, top3) = ranks_summary(&ranks);
    let n = queries.len();
    let unconfident = n - confident;
    let (p50, p99, _) = percentiles(latencies);
    let share = confident as f64 / n.max(1) as f64;
    let right = |r: usize, of: usize| if of == 0 { f64::NAN } else { r as f64 / of as f64 * 100.0 };
    Ok((
        format!(
            "{n} questions: MRR@3 {mrr:.3}, top-1 {:.0}%, top-3 {:.0}%; confidence ≥ {threshold}: {:.0}% of answers, {:.0}% of them right (below: {:.0}% right); `GET /suggestions` p50 {p50:.1} / p99 {p99:.1} ms",
            top1 * 100.0,
            top3 * 100.0,
            share * 100.0,
            right(confident_right, confident),
            right(unconfident_right, unconfident),
        ),
        "-".into(),
        "-".into(),
        json!({ "questions": n, "mrr3": mrr, "top1": top1, "top3": top3, "threshold": threshold,
                "confident_share": share, "p50_ms": p50, "p99_ms": p99 }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_give_mrr_and_hit_rates() {
        let (mrr, top1, top3) = ranks_summary(&[Some(0), Some(1), None, Some(2)]);
        assert!((mrr - (1.0 + 0.5 + 0.0 + 1.0 / 3.0) / 4.0).abs() < 1e-9);
        assert_eq!((top1, top3), (0.25, 0.75));
        assert_eq!(shortcut("Bygglov 010/Ä"), "bygglov-010--");
    }
}
