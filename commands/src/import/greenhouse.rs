//! The Greenhouse Job Board API, `GET /v1/boards/{board}/jobs?content=true`:
//! `{"jobs":[…],"meta":{"total":N}}`.

use domain::job::{JobDetails, JobSource, SourceKind};
use domain::profile::SalaryRange;
use serde_json::Value;

use super::text::{
    decode_entities, detect_arrangement, extract_min_years, extract_skills, html_to_text,
};
use super::{ImportError, Posting, PostingError};

/// Reads a board's feed; each posting is read on its own, so one bad posting is reported
/// with its index and the others still go in.
pub fn parse(feed: &[u8]) -> Result<Vec<Result<Posting, PostingError>>, ImportError> {
    let envelope: Value = serde_json::from_slice(feed).map_err(ImportError::NotJson)?;
    let jobs = envelope
        .get("jobs")
        .and_then(Value::as_array)
        .ok_or(ImportError::Shape(
            "a Greenhouse feed is an object with a `jobs` array",
        ))?;
    Ok(jobs
        .iter()
        .enumerate()
        .map(|(index, job)| posting(job).map_err(|reason| PostingError { index, reason }))
        .collect())
}

fn posting(job: &Value) -> Result<Posting, String> {
    // Ids can exceed 2^32 (and JavaScript's safe integers): keep their digits as text.
    let id = match job.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("`id` is missing or not a number".into()),
    };
    let title = job
        .get("title")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("`title` is missing")?;
    // `content` is HTML whose entities are escaped once more: decode twice, then read it.
    let content = job
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let description = html_to_text(&decode_entities(&decode_entities(content)));
    let location = job
        .pointer("/location/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut locations: Vec<String> = job
        .get("offices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|office| office.get("name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    if !location.is_empty() && !locations.iter().any(|l| l == location) {
        locations.insert(0, location.to_owned());
    }
    locations.truncate(50);
    let department = job
        .get("departments")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let metadata = job.get("metadata").and_then(Value::as_array);
    let employment_type = metadata
        .into_iter()
        .flatten()
        .find(|m| {
            m.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.to_lowercase().contains("employment type"))
        })
        .and_then(|m| m.get("value").and_then(Value::as_str))
        .map(str::to_owned);
    let salary = metadata
        .into_iter()
        .flatten()
        .find(|m| m.get("value_type").and_then(Value::as_str) == Some("currency_range"))
        .and_then(|m| salary(m.get("value")?));
    let text = format!("{title}\n{description}");
    Ok(Posting {
        external_id: id.clone(),
        details: JobDetails {
            title: title.to_owned(),
            description: if description.is_empty() {
                title.to_owned()
            } else {
                description
            },
            skills: extract_skills(title, &text),
            min_years: extract_min_years(&text),
            salary,
            remote: detect_arrangement(&[title, location]),
            locations,
            work_authorizations: vec![],
            department,
            employment_type,
            source: JobSource {
                kind: SourceKind::Greenhouse,
                external_id: Some(id),
                url: job
                    .get("absolute_url")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
        },
    })
}

/// A `currency_range` metadata value: `{"min_value":"…","max_value":"…","unit":"USD"}`.
fn salary(value: &Value) -> Option<SalaryRange> {
    let number = |key: &str| -> Option<i64> {
        match value.get(key)? {
            Value::Number(n) => n.as_f64().map(|f| f as i64),
            Value::String(s) => s.replace(',', "").parse::<f64>().ok().map(|f| f as i64),
            _ => None,
        }
    };
    Some(SalaryRange {
        min: number("min_value")?,
        max: number("max_value")?,
        currency: value.get("unit")?.as_str()?.to_uppercase(),
    })
}
