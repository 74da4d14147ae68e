//! `tradeassist token create | list | revoke`: API tokens in the configured database.

use anyhow::Result;
use clap::{Args, Subcommand};
use tradeassist_model::{ApiToken, Role, rfc3339};

use crate::config::Config;

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, on the last line of stdout.
    Create {
        /// read, write or admin.
        #[arg(long)]
        role: Role,
        /// A name to recognise the token by.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their secrets): id, role, name, created, revoked.
    List,
    /// Revoke a token by id; a running server refuses it within seconds.
    Revoke { id: i64 },
}

fn line(t: &ApiToken) -> String {
    format!(
        "{}\t{}\t{}\tcreated {}\t{}",
        t.id,
        t.role,
        if t.name.is_empty() { "-" } else { &t.name },
        rfc3339(t.created_at),
        t.revoked_at.map_or_else(
            || "active".to_string(),
            |r| format!("revoked {}", rfc3339(r))
        )
    )
}

pub async fn run(config: Config, args: TokenArgs) -> Result<()> {
    let service = super::open_service(&config).await?;
    match args.command {
        TokenCommand::Create { role, name } => {
            let (token, secret) = service.create_token(&name, role).await?;
            println!(
                "created token {} with the role {role}; the secret (shown once):",
                token.id
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            for t in service.tokens().await? {
                println!("{}", line(&t));
            }
        }
        TokenCommand::Revoke { id } => {
            let t = service.revoke_token(id).await?;
            println!("{}", line(&t));
        }
    }
    Ok(())
}
