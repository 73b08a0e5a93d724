//! `hirestream`: the one binary. `hirestream up` runs everything in one process; the other
//! subcommands run one part each, for deployments that scale them separately (see `cli`).

mod audit;
mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::Cli::parse().run().await
}
