use std::process::ExitCode;

use clap::Parser;

// Loading the archive (whole-suite indices from the parsed cache) makes
// millions of small allocations; glibc's malloc spent a third of a warm
// `plan --port` in its own bookkeeping (perf), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cascade::cli::Cli::parse();
    let level = match cli.global.verbose {
        // buildlog-consultant warns about every summary line it does not
        // know (sbuild's are many): noise in a build's output.
        0 => "warn,buildlog_consultant=error",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CASCADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Else a warning that cannot be written (stderr a pipe whose reader
        // is gone) is reported with eprintln!, which panics in whichever
        // thread logged it.
        .log_internal_errors(false)
        .init();
    match cascade::commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("cascade: error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(err.exit_code())
        }
    }
}
