//! The prompt: what the candidate and the job say, and what to write. Versioned, so every
//! document records which template wrote it.

use domain::candidate::CandidateProfile;
use domain::document::DocumentKind;
use domain::job::JobDetails;

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentPrompt {
    pub kind: DocumentKind,
    pub candidate_name: String,
    pub profile: Option<CandidateProfile>,
    pub job: Option<JobDetails>,
    pub employer_name: Option<String>,
    pub instructions: Option<String>,
}

impl DocumentPrompt {
    /// The template's version; bump it with any change to `system` or `user`.
    pub fn version(&self) -> &'static str {
        match self.kind {
            DocumentKind::Resume => "resume-v1",
            DocumentKind::CoverLetter => "cover-letter-v1",
        }
    }

    pub fn system(&self) -> String {
        let what = match self.kind {
            DocumentKind::Resume => "a one-page resume",
            DocumentKind::CoverLetter => "a cover letter of at most 350 words",
        };
        format!(
            "You write {what} in Markdown for a job seeker. Use only facts from the profile; \
             never invent employers, dates, degrees or numbers. When a target job is given, \
             put the experience and skills most relevant to it first. Answer with the document \
             only."
        )
    }

    pub fn user(&self) -> String {
        let mut text = format!("Candidate: {}\n", self.candidate_name);
        match &self.profile {
            Some(profile) => {
                // Serializing a profile of plain fields cannot fail.
                let json = serde_json::to_string_pretty(profile).unwrap_or_default();
                text.push_str(&format!("Profile (JSON):\n{json}\n"));
            }
            None => text.push_str("The candidate has not filled in a profile yet.\n"),
        }
        if let Some(job) = &self.job {
            let skills: Vec<String> = job
                .skills
                .iter()
                .map(|s| format!("{} ({:?})", s.name, s.proficiency).to_lowercase())
                .collect();
            text.push_str(&format!(
                "\nTarget job: {} at {}\nRequired skills: {}\nMinimum years: {}\nDescription:\n{}\n",
                job.title,
                self.employer_name.as_deref().unwrap_or("the employer"),
                skills.join(", "),
                job.min_years,
                job.description
            ));
        }
        if let Some(instructions) = self.instructions.as_deref().filter(|i| !i.is_empty()) {
            text.push_str(&format!("\nThe candidate asks: {instructions}\n"));
        }
        text
    }
}
