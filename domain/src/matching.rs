//! The match score of a candidate for a job (0–100, shown at 60 and above).
//!
//! Hard filters first: a job that pays less than the candidate's minimum, that is on site
//! where the candidate is not (or on site for a candidate who wants remote work), that needs
//! a work authorization the candidate lacks, or more years than the candidate has, is no
//! match at all. Then six factors, each between 0 and 1, weighted: skills 40 (each required
//! skill credited by the candidate's level: expert 1.0, working 0.7, learning 0.3, relative
//! to the level required), experience 20, semantic similarity 15, salary fit 10, culture and
//! pace 10, validation 5. A factor the profiles say nothing about counts half.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::candidate::CandidateProfile;
use crate::employer::EmployerProfile;
use crate::job::JobDetails;
use crate::profile::{CompanySize, Pace, WorkArrangement};

/// Scores at or above this are shown in feeds.
pub const SHOWN_AT: u8 = 60;

/// What a neutral (unknown) factor counts.
const UNKNOWN: f64 = 0.5;

/// Why a pair is no match whatever the factors say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Excluded {
    Salary,
    Location,
    WorkAuthorization,
    Experience,
}

/// Each factor's share of the score, in points (they add up to the total).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Factors {
    pub skills: f64,
    pub experience: f64,
    pub semantic: f64,
    pub salary: f64,
    pub culture: f64,
    pub validation: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Score {
    pub total: u8,
    pub factors: Factors,
}

impl Score {
    pub fn shown(&self) -> bool {
        self.total >= SHOWN_AT
    }
}

/// The candidate's side of a match.
#[derive(Debug, Clone, Copy)]
pub struct CandidateSide<'a> {
    pub profile: &'a CandidateProfile,
    /// The admin's 0–100 validation, if any.
    pub validation: Option<i32>,
}

/// The job's side of a match.
#[derive(Debug, Clone, Copy)]
pub struct JobSide<'a> {
    pub details: &'a JobDetails,
    pub employer: Option<&'a EmployerProfile>,
}

/// The score of `candidate` for `job`, given the cosine similarity of their embeddings, or
/// why they do not match.
pub fn score(
    candidate: CandidateSide<'_>,
    job: JobSide<'_>,
    similarity: f32,
) -> Result<Score, Excluded> {
    hard_filters(candidate.profile, job.details)?;
    let factors = Factors {
        skills: 40.0 * skills(candidate.profile, job.details),
        experience: 20.0 * experience(candidate.profile, job.details),
        semantic: 15.0 * semantic(similarity),
        salary: 10.0 * salary(candidate.profile, job.details),
        culture: 10.0 * culture(candidate.profile, job.employer),
        validation: 5.0
            * candidate
                .validation
                .map_or(0.0, |v| f64::from(v.clamp(0, 100)) / 100.0),
    };
    let sum = factors.skills
        + factors.experience
        + factors.semantic
        + factors.salary
        + factors.culture
        + factors.validation;
    Ok(Score {
        total: sum.round().clamp(0.0, 100.0) as u8,
        factors,
    })
}

/// Longest text embedded: models read a few hundred tokens at most (all-MiniLM-L6-v2 256),
/// and remote ones refuse very long inputs.
pub const MAX_EMBEDDED_CHARS: usize = 2_000;

fn clip(text: &str) -> &str {
    match text.char_indices().nth(MAX_EMBEDDED_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The text a job is embedded from: what it is, the skills it needs, then its description.
pub fn job_text(job: &JobDetails) -> String {
    let skills: Vec<&str> = job.skills.iter().map(|s| s.name.as_str()).collect();
    let text = format!(
        "{}. Skills: {}. {}",
        job.title.trim(),
        skills.join(", "),
        job.description.trim()
    );
    clip(&text).to_owned()
}

/// The text a candidate is embedded from: who they are, what they want, what they know.
pub fn candidate_text(profile: &CandidateProfile) -> String {
    let skills: Vec<&str> = profile.skills.iter().map(|s| s.name.as_str()).collect();
    let mut text = format!("{}.", profile.headline.trim());
    if !profile.target_titles.is_empty() {
        text.push_str(&format!(
            " Looking for: {}.",
            profile.target_titles.join(", ")
        ));
    }
    text.push_str(&format!(" Skills: {}.", skills.join(", ")));
    if !profile.industries.is_empty() {
        text.push_str(&format!(" Industries: {}.", profile.industries.join(", ")));
    }
    if !profile.summary.trim().is_empty() {
        text.push(' ');
        text.push_str(profile.summary.trim());
    }
    clip(&text).to_owned()
}

fn same_place(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
}

pub fn hard_filters(candidate: &CandidateProfile, job: &JobDetails) -> Result<(), Excluded> {
    if let (Some(wanted), Some(offered)) = (&candidate.min_salary, &job.salary) {
        if wanted.currency == offered.currency && offered.max < wanted.amount {
            return Err(Excluded::Salary);
        }
    }
    match job.remote {
        WorkArrangement::Remote => {}
        WorkArrangement::Onsite if candidate.remote == WorkArrangement::Remote => {
            return Err(Excluded::Location)
        }
        WorkArrangement::Onsite | WorkArrangement::Hybrid => {
            let near = job.locations.is_empty()
                || candidate
                    .locations
                    .iter()
                    .any(|mine| job.locations.iter().any(|theirs| same_place(mine, theirs)));
            if !near {
                return Err(Excluded::Location);
            }
        }
    }
    if !job.work_authorizations.is_empty()
        && !job.work_authorizations.iter().any(|needed| {
            candidate
                .work_authorizations
                .iter()
                .any(|held| held.eq_ignore_ascii_case(needed))
        })
    {
        return Err(Excluded::WorkAuthorization);
    }
    if candidate.years_experience < job.min_years {
        return Err(Excluded::Experience);
    }
    Ok(())
}

/// The average credit over the job's required skills: the candidate's level weight over the
/// required level's, at most 1; 0 for a skill the candidate lacks.
fn skills(candidate: &CandidateProfile, job: &JobDetails) -> f64 {
    if job.skills.is_empty() {
        return UNKNOWN;
    }
    let credit: f64 = job
        .skills
        .iter()
        .map(|required| {
            candidate
                .skills
                .iter()
                .find(|held| held.name.eq_ignore_ascii_case(&required.name))
                .map_or(0.0, |held| {
                    (held.proficiency.weight() / required.proficiency.weight()).min(1.0)
                })
        })
        .sum();
    credit / job.skills.len() as f64
}

/// 0.6 at exactly the minimum, rising to 1 two years beyond it.
fn experience(candidate: &CandidateProfile, job: &JobDetails) -> f64 {
    let beyond = f64::from(candidate.years_experience - job.min_years);
    (0.6 + 0.2 * beyond).clamp(0.0, 1.0)
}

/// Cosine similarities of sentence embeddings of related texts run from about 0.1 to 0.7.
fn semantic(similarity: f32) -> f64 {
    ((f64::from(similarity) - 0.1) / 0.6).clamp(0.0, 1.0)
}

/// 1 when even the bottom of the range meets the minimum, 0.7 when only the top does.
fn salary(candidate: &CandidateProfile, job: &JobDetails) -> f64 {
    match (&candidate.min_salary, &job.salary) {
        (Some(wanted), Some(offered)) if wanted.currency == offered.currency => {
            if offered.min >= wanted.amount {
                1.0
            } else {
                0.7
            }
        }
        _ => UNKNOWN,
    }
}

fn size_rank(size: CompanySize) -> i32 {
    match size {
        CompanySize::Startup => 0,
        CompanySize::Small => 1,
        CompanySize::Medium => 2,
        CompanySize::Large => 3,
        CompanySize::Enterprise => 4,
    }
}

fn pace_rank(pace: Pace) -> i32 {
    match pace {
        Pace::Steady => 0,
        Pace::Balanced => 1,
        Pace::Fast => 2,
    }
}

/// Half company size, half pace: 1 when equal, 0.5 when one step apart, else 0.
fn culture(candidate: &CandidateProfile, employer: Option<&EmployerProfile>) -> f64 {
    let closeness = |a: Option<i32>, b: Option<i32>| match (a, b) {
        (Some(a), Some(b)) => match (a - b).abs() {
            0 => 1.0,
            1 => 0.5,
            _ => 0.0,
        },
        _ => UNKNOWN,
    };
    let size = closeness(
        candidate.company_size.map(size_rank),
        employer.and_then(|e| e.size).map(size_rank),
    );
    let pace = closeness(
        candidate.pace.map(pace_rank),
        employer.and_then(|e| e.pace).map(pace_rank),
    );
    (size + pace) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSource;
    use crate::profile::{MinimumSalary, Proficiency, SalaryRange, Skill};

    fn skill(name: &str, proficiency: Proficiency) -> Skill {
        Skill {
            name: name.into(),
            proficiency,
        }
    }

    fn candidate() -> CandidateProfile {
        CandidateProfile {
            headline: "Backend engineer".into(),
            summary: String::new(),
            skills: vec![
                skill("Rust", Proficiency::Expert),
                skill("Kafka", Proficiency::Working),
            ],
            years_experience: 6,
            industries: vec![],
            target_titles: vec![],
            min_salary: Some(MinimumSalary {
                amount: 100_000,
                currency: "EUR".into(),
            }),
            locations: vec!["Berlin".into()],
            remote: WorkArrangement::Hybrid,
            work_authorizations: vec!["EU".into()],
            company_size: Some(CompanySize::Startup),
            pace: Some(Pace::Fast),
            experience: vec![],
            education: vec![],
        }
    }

    fn job() -> JobDetails {
        JobDetails {
            title: "Rust engineer".into(),
            description: "Rust and Kafka.".into(),
            skills: vec![
                skill("Rust", Proficiency::Expert),
                skill("Kafka", Proficiency::Expert),
            ],
            min_years: 4,
            salary: Some(SalaryRange {
                min: 110_000,
                max: 130_000,
                currency: "EUR".into(),
            }),
            locations: vec!["Berlin, Germany".into()],
            remote: WorkArrangement::Hybrid,
            work_authorizations: vec!["eu".into()],
            department: None,
            employment_type: None,
            source: JobSource::default(),
        }
    }

    fn employer() -> EmployerProfile {
        EmployerProfile {
            name: "Acme".into(),
            size: Some(CompanySize::Small),
            industry: None,
            pace: Some(Pace::Fast),
            website: None,
        }
    }

    fn scored(
        candidate: &CandidateProfile,
        job: &JobDetails,
        similarity: f32,
    ) -> Result<Score, Excluded> {
        let employer = employer();
        score(
            CandidateSide {
                profile: candidate,
                validation: Some(80),
            },
            JobSide {
                details: job,
                employer: Some(&employer),
            },
            similarity,
        )
    }

    #[test]
    fn every_factor_adds_its_weighted_share() {
        let score = scored(&candidate(), &job(), 0.55).expect("a match");
        let f = score.factors;
        // Rust expert for expert: 1; Kafka working for expert: 0.7. Average 0.85 of 40.
        assert!((f.skills - 34.0).abs() < 1e-9);
        // Two years beyond the minimum: full.
        assert!((f.experience - 20.0).abs() < 1e-9);
        // (0.55 - 0.1) / 0.6 = 0.75 of 15.
        assert!((f.semantic - 11.25).abs() < 1e-5, "{}", f.semantic);
        // The bottom of the range meets the minimum.
        assert!((f.salary - 10.0).abs() < 1e-9);
        // Startup against small (one step): 0.5; fast against fast: 1. Average 0.75 of 10.
        assert!((f.culture - 7.5).abs() < 1e-9);
        assert!((f.validation - 4.0).abs() < 1e-9);
        assert_eq!(score.total, 87);
        assert!(score.shown());
    }

    #[test]
    fn a_missing_skill_earns_nothing_and_a_weaker_one_part() {
        let mut weak = candidate();
        weak.skills = vec![skill("Rust", Proficiency::Learning)];
        let f = scored(&weak, &job(), 0.55).expect("a match").factors;
        assert!((f.skills - 40.0 * (0.3 / 2.0)).abs() < 1e-9);
    }

    #[test]
    fn exactly_the_minimum_years_counts_sixty_percent() {
        let mut junior = candidate();
        junior.years_experience = 4;
        let f = scored(&junior, &job(), 0.55).expect("a match").factors;
        assert!((f.experience - 12.0).abs() < 1e-9);
    }

    #[test]
    fn unrelated_texts_earn_no_semantic_points_and_unknown_factors_count_half() {
        let mut open = job();
        open.salary = None;
        let f = scored(&candidate(), &open, 0.05).expect("a match").factors;
        assert_eq!(f.semantic, 0.0);
        assert!((f.salary - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_job_that_pays_less_than_the_minimum_is_excluded() {
        let mut cheap = job();
        cheap.salary = Some(SalaryRange {
            min: 60_000,
            max: 90_000,
            currency: "EUR".into(),
        });
        assert_eq!(scored(&candidate(), &cheap, 0.9), Err(Excluded::Salary));
        // Another currency cannot be compared, so it does not exclude.
        cheap.salary = Some(SalaryRange {
            min: 60_000,
            max: 90_000,
            currency: "USD".into(),
        });
        assert!(scored(&candidate(), &cheap, 0.9).is_ok());
    }

    #[test]
    fn location_and_remote_preferences_filter() {
        let mut elsewhere = job();
        elsewhere.locations = vec!["Paris".into()];
        assert_eq!(
            scored(&candidate(), &elsewhere, 0.9),
            Err(Excluded::Location)
        );
        elsewhere.remote = WorkArrangement::Remote;
        assert!(scored(&candidate(), &elsewhere, 0.9).is_ok());
        let mut remote_only = candidate();
        remote_only.remote = WorkArrangement::Remote;
        let mut onsite = job();
        onsite.remote = WorkArrangement::Onsite;
        assert_eq!(scored(&remote_only, &onsite, 0.9), Err(Excluded::Location));
    }

    #[test]
    fn a_required_work_authorization_must_be_held() {
        let mut us = job();
        us.work_authorizations = vec!["US".into()];
        assert_eq!(
            scored(&candidate(), &us, 0.9),
            Err(Excluded::WorkAuthorization)
        );
    }

    #[test]
    fn fewer_years_than_the_minimum_is_excluded() {
        let mut senior = job();
        senior.min_years = 10;
        assert_eq!(
            scored(&candidate(), &senior, 0.9),
            Err(Excluded::Experience)
        );
    }

    #[test]
    fn a_weak_match_is_scored_but_not_shown() {
        let mut weak = candidate();
        weak.skills = vec![skill("Python", Proficiency::Expert)];
        let score = scored(&weak, &job(), 0.1).expect("not excluded");
        assert!(score.total < SHOWN_AT, "{score:?}");
        assert!(!score.shown());
    }
}
