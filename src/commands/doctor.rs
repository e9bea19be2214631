//! `cascade doctor`: the checks of `cascade setup`, read-only. Prints each
//! missing thing with the exact commands that fix it; exit 1 if any.

use std::process::ExitCode;

use crate::Error;
use crate::cli::GlobalArgs;
use crate::commands::setup::HostArgs;
use crate::setup;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub host: HostArgs,
}

pub fn run(args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    let opts = args.host.options();
    let checks = setup::evaluate(&opts, &setup::probe(&opts));
    let mut missing = 0;
    for c in &checks {
        if c.ok {
            println!("ok      {}: {}", c.name, c.detail);
        } else {
            missing += 1;
            println!("MISSING {}: {}", c.name, c.detail);
            for a in &c.fix {
                println!("          fix: {a}");
            }
        }
    }
    if missing == 0 {
        println!("this host is ready");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{missing} missing; `cascade setup` fixes them all");
        Ok(ExitCode::FAILURE)
    }
}
