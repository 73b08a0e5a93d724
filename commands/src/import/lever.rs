//! The Lever Postings API, `GET /v0/postings/{site}?mode=json`: a bare array of postings.

use domain::job::{JobDetails, JobSource, SourceKind};
use domain::profile::{SalaryRange, WorkArrangement};
use serde_json::Value;

use super::text::{detect_arrangement, extract_min_years, extract_skills, html_to_text};
use super::{ImportError, Posting, PostingError};

pub fn parse(feed: &[u8]) -> Result<Vec<Result<Posting, PostingError>>, ImportError> {
    let postings: Value = serde_json::from_slice(feed).map_err(ImportError::NotJson)?;
    let postings = postings.as_array().ok_or(ImportError::Shape(
        "a Lever feed is a JSON array of postings",
    ))?;
    Ok(postings
        .iter()
        .enumerate()
        .map(|(index, p)| posting(p).map_err(|reason| PostingError { index, reason }))
        .collect())
}

fn text_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn posting(posting: &Value) -> Result<Posting, String> {
    let id = posting
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("`id` is missing")?;
    let title = posting
        .get("text")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("`text` (the title) is missing")?;
    let mut description = text_at(posting, "/descriptionPlain").trim().to_owned();
    for list in posting
        .get("lists")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let heading = text_at(list, "/text");
        let items = html_to_text(text_at(list, "/content"));
        description.push_str(&format!("\n\n{heading}\n{items}"));
    }
    let additional = text_at(posting, "/additionalPlain").trim();
    if !additional.is_empty() {
        description.push_str("\n\n");
        description.push_str(additional);
    }
    let description = description.trim().to_owned();
    let location = text_at(posting, "/categories/location");
    let mut locations: Vec<String> = posting
        .pointer("/categories/allLocations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if !location.is_empty() && !locations.iter().any(|l| l == location) {
        locations.insert(0, location.to_owned());
    }
    if locations.is_empty() {
        if let Some(country) = posting.get("country").and_then(Value::as_str) {
            locations.push(country.to_owned());
        }
    }
    locations.truncate(50);
    let remote = match posting.get("workplaceType").and_then(Value::as_str) {
        Some("remote") => WorkArrangement::Remote,
        Some("hybrid") => WorkArrangement::Hybrid,
        Some("on-site" | "onsite") => WorkArrangement::Onsite,
        _ => detect_arrangement(&[title, location]),
    };
    let text = format!("{title}\n{description}");
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(Posting {
        external_id: id.to_owned(),
        details: JobDetails {
            title: title.to_owned(),
            description: if description.is_empty() {
                title.to_owned()
            } else {
                description
            },
            skills: extract_skills(title, &text),
            min_years: extract_min_years(&text),
            salary: posting.get("salaryRange").and_then(salary),
            locations,
            remote,
            work_authorizations: vec![],
            department: non_empty(text_at(posting, "/categories/department"))
                .or_else(|| non_empty(text_at(posting, "/categories/team"))),
            employment_type: non_empty(text_at(posting, "/categories/commitment")),
            source: JobSource {
                kind: SourceKind::Lever,
                external_id: Some(id.to_owned()),
                url: non_empty(text_at(posting, "/hostedUrl")),
            },
        },
    })
}

/// `{"currency":"USD","interval":"per-year-salary","min":…,"max":…}`, as a yearly range.
fn salary(range: &Value) -> Option<SalaryRange> {
    let per_year = match range
        .get("interval")
        .and_then(Value::as_str)
        .unwrap_or("per-year-salary")
    {
        i if i.contains("year") => 1.0,
        i if i.contains("month") => 12.0,
        i if i.contains("week") => 52.0,
        i if i.contains("day") => 260.0,
        i if i.contains("hour") => 2_080.0,
        _ => return None,
    };
    let amount = |key: &str| {
        range
            .get(key)?
            .as_f64()
            .map(|v| (v * per_year).round() as i64)
    };
    Some(SalaryRange {
        min: amount("min")?,
        max: amount("max")?,
        currency: range.get("currency")?.as_str()?.to_uppercase(),
    })
}
