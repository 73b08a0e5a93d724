//! The world a benchmark or an end-to-end test works in: a migrated database of its own, a
//! topic prefix (so consumer groups) of its own and a directory of its own (the vector index,
//! the mail).

use api::settings::{Secret, Settings};
use commands::db::ScratchDatabase;

#[derive(Debug)]
pub struct Scratch {
    /// The settings given to [`Scratch::create`], pointed at this scratch world.
    pub settings: Settings,
    database: ScratchDatabase,
}

impl Scratch {
    /// `what` names the database (`hirestream_<what>_<id>`) and the topic prefix.
    pub async fn create(settings: &Settings, what: &str) -> Result<Self, commands::Error> {
        let database = ScratchDatabase::create(settings.database.url.expose(), what).await?;
        let id = database.id().simple().to_string();
        let mut settings = settings.clone();
        settings.database.url = Secret::new(database.url().to_owned());
        settings.kafka.topic_prefix = format!("{what}{}", &id[..12]);
        settings.matching.data_dir = std::env::temp_dir()
            .join(format!("hirestream-{what}-{id}"))
            .display()
            .to_string();
        settings.mail.directory = format!("{}/mail", settings.matching.data_dir);
        Ok(Self { settings, database })
    }

    /// Drops the database and removes the directory.
    pub async fn drop_database(self) -> Result<(), commands::Error> {
        std::fs::remove_dir_all(&self.settings.matching.data_dir).ok();
        self.database.drop_database().await
    }
}
