//! Reading job postings as text: HTML entities and tags, skills, years of experience and the
//! work arrangement, as far as the words allow.

use domain::profile::{Proficiency, Skill, WorkArrangement};

/// Decodes HTML character references: the named ones job boards use, and numeric ones.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let decoded = after.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "rsquo" | "lsquo" => Some('\''),
                "rdquo" | "ldquo" => Some('"'),
                "hellip" => Some('…'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Plain text of an HTML fragment: tags dropped (block tags become line breaks), entities
/// decoded, runs of blank space folded.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if matches!(
            name.as_str(),
            "p" | "br"
                | "li"
                | "ul"
                | "ol"
                | "div"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "tr"
        ) {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let decoded = decode_entities(&text);
    let mut lines: Vec<String> = decoded
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect();
    lines.dedup();
    lines.join("\n")
}

/// Skills with their canonical names and the words that name them in postings.
const SKILLS: &[(&str, &[&str])] = &[
    ("Rust", &["rust"]),
    ("Go", &["golang"]),
    ("Python", &["python"]),
    ("Java", &["java"]),
    ("Kotlin", &["kotlin"]),
    ("Scala", &["scala"]),
    ("JavaScript", &["javascript", "js"]),
    ("TypeScript", &["typescript"]),
    ("Node.js", &["node.js", "nodejs", "node"]),
    ("React", &["react", "react.js", "reactjs"]),
    ("Vue", &["vue", "vue.js"]),
    ("Angular", &["angular"]),
    ("C", &[]),
    ("C++", &["c++", "cpp"]),
    ("C#", &["c#", ".net", "dotnet"]),
    ("Ruby", &["ruby", "rails"]),
    ("PHP", &["php"]),
    ("Swift", &["swift"]),
    ("Objective-C", &["objective-c"]),
    ("Elixir", &["elixir"]),
    ("Haskell", &["haskell"]),
    ("SQL", &["sql"]),
    ("PostgreSQL", &["postgresql", "postgres"]),
    ("MySQL", &["mysql"]),
    ("MongoDB", &["mongodb", "mongo"]),
    ("Redis", &["redis"]),
    ("Elasticsearch", &["elasticsearch", "opensearch"]),
    ("Kafka", &["kafka"]),
    ("RabbitMQ", &["rabbitmq"]),
    ("Spark", &["spark", "pyspark"]),
    ("Airflow", &["airflow"]),
    ("dbt", &["dbt"]),
    ("Snowflake", &["snowflake"]),
    ("BigQuery", &["bigquery"]),
    ("AWS", &["aws", "amazon web services"]),
    ("GCP", &["gcp", "google cloud"]),
    ("Azure", &["azure"]),
    ("Kubernetes", &["kubernetes", "k8s"]),
    ("Docker", &["docker", "containers"]),
    ("Terraform", &["terraform"]),
    ("Linux", &["linux"]),
    ("GraphQL", &["graphql"]),
    ("gRPC", &["grpc"]),
    ("REST", &["rest", "restful"]),
    ("Microservices", &["microservices"]),
    ("Distributed systems", &["distributed systems"]),
    ("Machine learning", &["machine learning", "ml"]),
    ("Deep learning", &["deep learning"]),
    ("PyTorch", &["pytorch"]),
    ("TensorFlow", &["tensorflow"]),
    ("LLM", &["llm", "llms", "large language models"]),
    ("NLP", &["nlp", "natural language processing"]),
    ("Computer vision", &["computer vision"]),
    ("Data analysis", &["data analysis", "analytics"]),
    ("Statistics", &["statistics"]),
    ("Pandas", &["pandas"]),
    ("Excel", &["excel"]),
    ("Tableau", &["tableau"]),
    ("Figma", &["figma"]),
    ("UX design", &["ux", "user experience"]),
    ("Product management", &["product management"]),
    ("Agile", &["agile", "scrum"]),
    ("CI/CD", &["ci/cd", "continuous integration"]),
    ("Git", &["git"]),
    ("Security", &["security"]),
    ("iOS", &["ios"]),
    ("Android", &["android"]),
    ("HTML", &["html"]),
    ("CSS", &["css"]),
    ("WebRTC", &["webrtc"]),
    ("Salesforce", &["salesforce"]),
    ("SEO", &["seo"]),
    ("Sales", &["sales"]),
    ("Marketing", &["marketing"]),
    ("Accounting", &["accounting"]),
    ("Recruiting", &["recruiting"]),
    ("Customer success", &["customer success"]),
];

/// Lower-cased words of `text`, keeping the characters skill names use (`c++`, `node.js`).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '+' | '#' | '.' | '/' | '-')))
        .map(|w| {
            w.trim_matches(|c: char| c == '.' || c == '-' || c == '/')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The skills a posting names, most strongly required first. A skill named just after
/// "expert", "deep" or "strong" is required at expert level; one after "nice to have",
/// "bonus" or "plus" at learning level; others at working level. The strongest mention wins.
pub fn extract_skills(title: &str, description: &str) -> Vec<Skill> {
    // Sentences and lines, so that a cue in one does not colour a skill in the next.
    let sentences: Vec<Vec<String>> = format!("{title}\n{description}")
        .split('\n')
        .flat_map(|line| line.split(". "))
        .map(words)
        .collect();
    let mut found: Vec<Skill> = Vec::new();
    for (name, aliases) in SKILLS {
        // The strongest level any mention asks for.
        let proficiency = sentences
            .iter()
            .flat_map(|sentence| {
                aliases.iter().flat_map(move |alias| {
                    find_phrases(sentence, &words(alias))
                        .into_iter()
                        .map(move |at| level_at(sentence, at))
                })
            })
            .max();
        if let Some(proficiency) = proficiency {
            found.push(Skill {
                name: (*name).to_owned(),
                proficiency,
            });
        }
    }
    found.sort_by(|a, b| b.proficiency.cmp(&a.proficiency).then(a.name.cmp(&b.name)));
    found.truncate(50);
    found
}

/// Every place the words of `phrase` appear in `words`, in a row.
fn find_phrases(words: &[String], phrase: &[String]) -> Vec<usize> {
    if phrase.is_empty() {
        return Vec::new();
    }
    words
        .windows(phrase.len())
        .enumerate()
        .filter(|(_, window)| *window == phrase)
        .map(|(at, _)| at)
        .collect()
}

/// The level the words just before a mention ask for.
fn level_at(words: &[String], at: usize) -> Proficiency {
    let before = words[at.saturating_sub(6)..at].join(" ");
    let any = |cues: &[&str]| cues.iter().any(|cue| before.contains(cue));
    if any(&["expert", "deep", "strong", "extensive", "mastery"]) {
        Proficiency::Expert
    } else if any(&["nice", "bonus", "plus", "familiarity", "exposure"]) {
        Proficiency::Learning
    } else {
        Proficiency::Working
    }
}

/// The smallest "N years" (or "N+ years") the text asks for, within 1 to 20; 0 if none.
pub fn extract_min_years(text: &str) -> i32 {
    let words = words(text);
    words
        .windows(2)
        .filter(|pair| pair[1].starts_with("year") || pair[1].starts_with("yr"))
        .filter_map(|pair| {
            let number = pair[0].trim_end_matches('+');
            let number = number.split('-').next().unwrap_or(number);
            number.parse::<i32>().ok()
        })
        .filter(|n| (1..=20).contains(n))
        .min()
        .unwrap_or(0)
}

/// Remote, hybrid or onsite, from whatever the posting says about it.
pub fn detect_arrangement(texts: &[&str]) -> WorkArrangement {
    let text = texts.join(" ").to_lowercase();
    if text.contains("hybrid") {
        WorkArrangement::Hybrid
    } else if text.contains("remote")
        || text.contains("work from home")
        || text.contains("anywhere")
    {
        WorkArrangement::Remote
    } else {
        WorkArrangement::Onsite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_escaped_html_decodes_to_text() {
        let content = "&amp;lt;p&amp;gt;We build &amp;amp;amp; ship.&amp;lt;/p&amp;gt;&amp;lt;ul&amp;gt;&amp;lt;li&amp;gt;Rust&amp;lt;/li&amp;gt;&amp;lt;/ul&amp;gt;";
        let html = decode_entities(&decode_entities(content));
        assert_eq!(html, "<p>We build &amp; ship.</p><ul><li>Rust</li></ul>");
        assert_eq!(html_to_text(&html), "We build & ship.\nRust");
    }

    #[test]
    fn numeric_and_unknown_entities() {
        assert_eq!(
            decode_entities("caf&#233; &#x2014; &bogus; & more"),
            "café — &bogus; & more"
        );
    }

    #[test]
    fn skills_are_found_with_their_level() {
        let skills = extract_skills(
            "Senior Rust Engineer",
            "Deep expertise in Kafka and PostgreSQL. You know Kubernetes. Nice to have: Go via golang.",
        );
        let named: Vec<(&str, Proficiency)> = skills
            .iter()
            .map(|s| (s.name.as_str(), s.proficiency))
            .collect();
        assert!(named.contains(&("Kafka", Proficiency::Expert)), "{named:?}");
        assert!(
            named.contains(&("Kubernetes", Proficiency::Working)),
            "{named:?}"
        );
        assert!(named.contains(&("Go", Proficiency::Learning)), "{named:?}");
        assert!(named.contains(&("Rust", Proficiency::Working)), "{named:?}");
        assert!(!named.iter().any(|(n, _)| *n == "Java"), "{named:?}");
    }

    #[test]
    fn years_and_arrangement_are_read_from_text() {
        assert_eq!(extract_min_years("5+ years of Rust, 3 years of Go"), 3);
        assert_eq!(
            extract_min_years("no requirement, founded 150 years ago"),
            0
        );
        assert_eq!(
            detect_arrangement(&["Berlin (Hybrid)"]),
            WorkArrangement::Hybrid
        );
        assert_eq!(
            detect_arrangement(&["Remote - US"]),
            WorkArrangement::Remote
        );
        assert_eq!(detect_arrangement(&["Paris"]), WorkArrangement::Onsite);
    }
}
