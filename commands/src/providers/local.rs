//! The built-in writer: a rule-based document writer, not a language model. It lays out the
//! candidate's own profile as a resume or a cover letter, choosing and ordering skills,
//! experience and highlights by how many of the target job's skills and title words they
//! mention. It needs no network and writes nothing the profile does not say.

use std::collections::HashMap;
use std::fmt::Write as _;

use domain::candidate::CandidateProfile;
use domain::document::DocumentKind;
use domain::profile::{Experience, Skill};
use futures::future::BoxFuture;

use super::{estimate_tokens, DocumentPrompt, DocumentWriter, ProviderError, Written};

pub const MODEL: &str = "rule-based-v1";

#[derive(Debug, Default, Clone, Copy)]
pub struct LocalWriter;

impl DocumentWriter for LocalWriter {
    fn provider(&self) -> &'static str {
        "local"
    }

    fn write<'a>(
        &'a self,
        prompt: &'a DocumentPrompt,
    ) -> BoxFuture<'a, Result<Written, ProviderError>> {
        Box::pin(async move {
            let content = match prompt.kind {
                DocumentKind::Resume => resume(prompt),
                DocumentKind::CoverLetter => cover_letter(prompt),
            };
            Ok(Written {
                input_tokens: estimate_tokens(&prompt.system()) + estimate_tokens(&prompt.user()),
                output_tokens: estimate_tokens(&content),
                content,
                model: MODEL.into(),
                cost_micros: 0,
            })
        })
    }
}

/// What the target job asks for, lower-cased, with a weight: its skills by the level they
/// are required at (expert 3, working 2, learning 1), the words of its title 1.
type Terms = HashMap<String, usize>;

fn job_terms(prompt: &DocumentPrompt) -> Terms {
    let Some(job) = &prompt.job else {
        return Terms::new();
    };
    let mut terms: Terms = job
        .title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(|w| (w.to_lowercase(), 1))
        .collect();
    for skill in &job.skills {
        let weight = match skill.proficiency {
            domain::profile::Proficiency::Expert => 3,
            domain::profile::Proficiency::Working => 2,
            domain::profile::Proficiency::Learning => 1,
        };
        terms.insert(skill.name.to_lowercase(), weight);
    }
    terms
}

/// The weight of the job's terms that `text` mentions.
fn relevance(text: &str, terms: &Terms) -> usize {
    let text = text.to_lowercase();
    terms
        .iter()
        .filter(|(term, _)| text.contains(term.as_str()))
        .map(|(_, weight)| weight)
        .sum()
}

/// Skills the job asks for first (the most demanding requirement first), then the rest;
/// the candidate's stronger skills first within each.
fn ordered_skills<'a>(profile: &'a CandidateProfile, terms: &Terms) -> Vec<&'a Skill> {
    let mut skills: Vec<&Skill> = profile.skills.iter().collect();
    skills.sort_by_key(|s| {
        let asked = terms.get(&s.name.to_lowercase()).copied().unwrap_or(0);
        (std::cmp::Reverse(asked), std::cmp::Reverse(s.proficiency))
    });
    skills
}

/// Experience entries most relevant to the job first (then the most recent), with their
/// highlights ordered the same way.
fn ordered_experience(profile: &CandidateProfile, terms: &Terms) -> Vec<Experience> {
    let mut entries: Vec<Experience> = profile.experience.clone();
    for entry in &mut entries {
        entry
            .highlights
            .sort_by_key(|h| std::cmp::Reverse(relevance(h, terms)));
    }
    entries.sort_by_key(|e| {
        let text = format!("{} {} {}", e.title, e.company, e.highlights.join(" "));
        (
            std::cmp::Reverse(relevance(&text, terms)),
            std::cmp::Reverse(e.start),
        )
    });
    entries
}

fn proficiency(skill: &Skill) -> &'static str {
    match skill.proficiency {
        domain::profile::Proficiency::Expert => "expert",
        domain::profile::Proficiency::Working => "working",
        domain::profile::Proficiency::Learning => "learning",
    }
}

fn resume(prompt: &DocumentPrompt) -> String {
    let terms = job_terms(prompt);
    let mut md = format!("# {}\n\n", prompt.candidate_name);
    let Some(profile) = &prompt.profile else {
        md.push_str("_No profile yet: add one to get a full resume._\n");
        return md;
    };
    let mut line = vec![format!("**{}**", profile.headline)];
    if !profile.locations.is_empty() {
        line.push(profile.locations.join(", "));
    }
    line.push(format!("{} work", profile.remote.as_str()));
    let _ = writeln!(md, "{}\n", line.join(" · "));
    if let Some(job) = &prompt.job {
        let _ = writeln!(
            md,
            "_Resume for the {} role{}._\n",
            job.title,
            prompt
                .employer_name
                .as_deref()
                .map(|e| format!(" at {e}"))
                .unwrap_or_default()
        );
    }
    if !profile.summary.is_empty() {
        let _ = writeln!(md, "{}\n", profile.summary);
    }
    let _ = writeln!(md, "{} years of experience.\n", profile.years_experience);

    md.push_str("## Skills\n\n");
    for skill in ordered_skills(profile, &terms) {
        let _ = writeln!(md, "- {} ({})", skill.name, proficiency(skill));
    }
    md.push('\n');

    let experience = ordered_experience(profile, &terms);
    if !experience.is_empty() {
        md.push_str("## Experience\n\n");
        for entry in experience {
            let end = entry
                .end
                .map_or_else(|| "present".to_owned(), |d| d.format("%b %Y").to_string());
            let _ = writeln!(
                md,
                "### {} — {}\n\n{} – {}\n",
                entry.title,
                entry.company,
                entry.start.format("%b %Y"),
                end
            );
            for highlight in &entry.highlights {
                let _ = writeln!(md, "- {highlight}");
            }
            if !entry.highlights.is_empty() {
                md.push('\n');
            }
        }
    }
    if !profile.education.is_empty() {
        md.push_str("## Education\n\n");
        for e in &profile.education {
            let field = e
                .field
                .as_deref()
                .map(|f| format!(", {f}"))
                .unwrap_or_default();
            let year = e.graduated.map(|y| format!(" ({y})")).unwrap_or_default();
            let _ = writeln!(md, "- {}{field} — {}{year}", e.degree, e.institution);
        }
        md.push('\n');
    }
    md.trim_end().to_owned() + "\n"
}

fn cover_letter(prompt: &DocumentPrompt) -> String {
    let terms = job_terms(prompt);
    let employer = prompt.employer_name.as_deref().unwrap_or("the hiring team");
    let role = prompt.job.as_ref().map_or_else(
        || "a role on your team".to_owned(),
        |j| format!("the {} role", j.title),
    );
    let mut md = format!("Dear {employer},\n\n");
    let Some(profile) = &prompt.profile else {
        let _ = writeln!(
            md,
            "I am writing to apply for {role}.\n\nKind regards,\n\n{}",
            prompt.candidate_name
        );
        return md;
    };
    let _ = writeln!(
        md,
        "I am writing to apply for {role}. I am a {} with {} years of experience.\n",
        profile.headline.to_lowercase(),
        profile.years_experience
    );
    let skills = ordered_skills(profile, &terms);
    let matching: Vec<&str> = skills
        .iter()
        .filter(|s| terms.contains_key(&s.name.to_lowercase()))
        .map(|s| s.name.as_str())
        .collect();
    if !matching.is_empty() {
        let _ = writeln!(
            md,
            "What you ask for is what I do: {}.\n",
            matching.join(", ")
        );
    } else if !skills.is_empty() {
        let named: Vec<&str> = skills.iter().take(4).map(|s| s.name.as_str()).collect();
        let _ = writeln!(md, "I bring {}.\n", named.join(", "));
    }
    for entry in ordered_experience(profile, &terms).iter().take(2) {
        match entry.highlights.first() {
            Some(highlight) => {
                let _ = writeln!(
                    md,
                    "As {} at {}: {}\n",
                    entry.title,
                    entry.company,
                    highlight.trim_end_matches('.').to_owned() + "."
                );
            }
            None => {
                let _ = writeln!(md, "I worked as {} at {}.\n", entry.title, entry.company);
            }
        }
    }
    let _ = write!(
        md,
        "I would welcome the chance to talk about how I can help.\n\nKind regards,\n\n{}\n",
        prompt.candidate_name
    );
    md
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use domain::job::{JobDetails, JobSource};
    use domain::profile::{Proficiency, WorkArrangement};

    use super::*;

    fn profile() -> CandidateProfile {
        let date = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
        CandidateProfile {
            headline: "Backend engineer".into(),
            summary: "I build reliable systems.".into(),
            skills: vec![
                Skill {
                    name: "Python".into(),
                    proficiency: Proficiency::Expert,
                },
                Skill {
                    name: "Kafka".into(),
                    proficiency: Proficiency::Working,
                },
                Skill {
                    name: "Rust".into(),
                    proficiency: Proficiency::Working,
                },
            ],
            years_experience: 8,
            industries: vec![],
            target_titles: vec![],
            min_salary: None,
            locations: vec!["Berlin".into()],
            remote: WorkArrangement::Hybrid,
            work_authorizations: vec![],
            company_size: None,
            pace: None,
            experience: vec![
                Experience {
                    title: "Data engineer".into(),
                    company: "Globex".into(),
                    start: date(2021, 1),
                    end: None,
                    highlights: vec!["Built dashboards".into(), "Ran a Kafka cluster".into()],
                },
                Experience {
                    title: "Rust engineer".into(),
                    company: "Initech".into(),
                    start: date(2016, 1),
                    end: Some(date(2020, 12)),
                    highlights: vec!["Wrote a billing service in Rust".into()],
                },
            ],
            education: vec![],
        }
    }

    fn job() -> JobDetails {
        JobDetails {
            title: "Senior Rust Engineer".into(),
            description: "Rust and Kafka.".into(),
            skills: vec![
                Skill {
                    name: "Rust".into(),
                    proficiency: Proficiency::Expert,
                },
                Skill {
                    name: "Kafka".into(),
                    proficiency: Proficiency::Working,
                },
            ],
            min_years: 5,
            salary: None,
            locations: vec![],
            remote: WorkArrangement::Remote,
            work_authorizations: vec![],
            department: None,
            employment_type: None,
            source: JobSource::default(),
        }
    }

    fn prompt(kind: DocumentKind, job: Option<JobDetails>) -> DocumentPrompt {
        DocumentPrompt {
            kind,
            candidate_name: "Ada Lovelace".into(),
            profile: Some(profile()),
            job,
            employer_name: Some("Acme".into()),
            instructions: None,
        }
    }

    async fn write(prompt: DocumentPrompt) -> Written {
        LocalWriter
            .write(&prompt)
            .await
            .expect("local writer never fails")
    }

    #[tokio::test]
    async fn a_resume_for_a_job_puts_what_the_job_asks_for_first() {
        let written = write(prompt(DocumentKind::Resume, Some(job()))).await;
        let md = &written.content;
        assert!(md.starts_with("# Ada Lovelace\n"));
        let rust = md.find("- Rust (working)").expect("rust listed");
        let python = md.find("- Python (expert)").expect("python listed");
        assert!(rust < python, "the job's skills come first:\n{md}");
        let initech = md.find("### Rust engineer — Initech").expect("initech");
        let globex = md.find("### Data engineer — Globex").expect("globex");
        assert!(
            initech < globex,
            "the most relevant experience comes first:\n{md}"
        );
        let kafka = md.find("- Ran a Kafka cluster").expect("kafka highlight");
        let dashboards = md.find("- Built dashboards").expect("dashboards");
        assert!(kafka < dashboards, "relevant highlights come first:\n{md}");
        assert_eq!(written.model, MODEL);
        assert!(written.output_tokens > 0 && written.input_tokens > 0);
    }

    #[tokio::test]
    async fn without_a_job_the_resume_keeps_the_profiles_strengths_first() {
        let md = write(prompt(DocumentKind::Resume, None)).await.content;
        let python = md.find("- Python (expert)").expect("python");
        let rust = md.find("- Rust (working)").expect("rust");
        assert!(python < rust);
        // Most recent first when nothing is more relevant.
        assert!(md.find("Globex").expect("globex") < md.find("Initech").expect("initech"));
    }

    #[tokio::test]
    async fn a_cover_letter_names_the_role_the_matching_skills_and_a_relevant_achievement() {
        let md = write(prompt(DocumentKind::CoverLetter, Some(job())))
            .await
            .content;
        assert!(md.starts_with("Dear Acme,"));
        assert!(md.contains("the Senior Rust Engineer role"));
        assert!(
            md.contains("What you ask for is what I do: Rust, Kafka."),
            "{md}"
        );
        assert!(
            md.contains("As Rust engineer at Initech: Wrote a billing service in Rust."),
            "{md}"
        );
        assert!(md.trim_end().ends_with("Ada Lovelace"));
    }
}
