use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tradeassist_server::cli::Cli::parse();
    let config = match cli.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tradeassist_server::logging::init(config.log_format);
    match tradeassist_server::cli::run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
