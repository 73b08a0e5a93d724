//! Value objects shared by profiles and jobs: skills, salaries, work arrangements.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Validator;

/// How well someone knows a skill, or how well a job needs it known.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Proficiency {
    Learning,
    Working,
    Expert,
}

impl Proficiency {
    /// The weight DESIGN.md gives each level in the skills factor of the match score.
    pub fn weight(self) -> f64 {
        match self {
            Proficiency::Expert => 1.0,
            Proficiency::Working => 0.7,
            Proficiency::Learning => 0.3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skill {
    pub name: String,
    pub proficiency: Proficiency,
}

/// Where work happens, for a job (its policy) or a candidate (a preference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum WorkArrangement {
    Remote,
    Hybrid,
    #[default]
    Onsite,
}

impl WorkArrangement {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkArrangement::Remote => "remote",
            WorkArrangement::Hybrid => "hybrid",
            WorkArrangement::Onsite => "onsite",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompanySize {
    Startup,
    Small,
    Medium,
    Large,
    Enterprise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    Steady,
    Balanced,
    Fast,
}

/// Yearly pay in whole units of a currency (ISO 4217).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SalaryRange {
    pub min: i64,
    pub max: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MinimumSalary {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Experience {
    pub title: String,
    pub company: String,
    pub start: NaiveDate,
    /// `None` while the position is current.
    pub end: Option<NaiveDate>,
    #[serde(default)]
    pub highlights: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Education {
    pub institution: String,
    pub degree: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub graduated: Option<i32>,
}

pub const MAX_SALARY: i64 = 100_000_000;

impl Validator {
    pub(crate) fn list(
        &mut self,
        field: &'static str,
        items: &[String],
        max_items: usize,
        max_chars: usize,
    ) -> &mut Self {
        if items.len() > max_items {
            self.problem(field, format!("must have at most {max_items} entries"));
        }
        if items
            .iter()
            .any(|i| i.trim().is_empty() || i.chars().count() > max_chars)
        {
            self.problem(
                field,
                format!("entries must be 1 to {max_chars} characters"),
            );
        }
        self
    }

    pub(crate) fn skills(
        &mut self,
        field: &'static str,
        skills: &[Skill],
        max: usize,
    ) -> &mut Self {
        if skills.len() > max {
            self.problem(field, format!("must have at most {max} entries"));
        }
        if skills
            .iter()
            .any(|s| s.name.trim().is_empty() || s.name.chars().count() > 60)
        {
            self.problem(field, "skill names must be 1 to 60 characters");
        }
        let mut names: Vec<String> = skills
            .iter()
            .map(|s| s.name.trim().to_lowercase())
            .collect();
        names.sort();
        names.dedup();
        if names.len() != skills.len() {
            self.problem(field, "each skill may appear once");
        }
        self
    }

    pub(crate) fn currency(&mut self, field: &'static str, currency: &str) -> &mut Self {
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            self.problem(field, "must be an ISO 4217 code such as USD or EUR");
        }
        self
    }

    pub(crate) fn salary_range(&mut self, field: &'static str, salary: &SalaryRange) -> &mut Self {
        if salary.min < 0 || salary.max > MAX_SALARY || salary.min > salary.max {
            self.problem(
                field,
                format!("must satisfy 0 <= min <= max <= {MAX_SALARY}"),
            );
        }
        self.currency(field, &salary.currency)
    }
}

/// A skill list with names trimmed.
pub(crate) fn tidy_skills(skills: Vec<Skill>) -> Vec<Skill> {
    skills
        .into_iter()
        .map(|s| Skill {
            name: s.name.trim().to_owned(),
            proficiency: s.proficiency,
        })
        .collect()
}

/// Entries trimmed.
pub(crate) fn tidy(items: Vec<String>) -> Vec<String> {
    items.into_iter().map(|i| i.trim().to_owned()).collect()
}
