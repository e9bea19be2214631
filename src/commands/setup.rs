//! `cascade setup`: make this host ready for sbuild — packages, binfmt,
//! subuid/subgid, sbuild config, chroot tarballs. Idempotent: a second run
//! says every step is already fine.

use std::process::ExitCode;
use std::time::Duration;

use crate::Error;
use crate::arch::Arch;
use crate::cli::GlobalArgs;
use crate::setup::{self, Kind};

/// Options shared with `cascade doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct HostArgs {
    /// Architectures to build for (comma-separated).
    #[arg(long = "arch", value_delimiter = ',', default_value = "amd64,riscv64")]
    pub archs: Vec<Arch>,
    /// Suite of the chroot tarballs.
    #[arg(long, default_value = "unstable")]
    pub suite: String,
    /// Debian mirror for the chroots.
    #[arg(long, default_value = "http://deb.debian.org/debian")]
    pub mirror: String,
    /// Refresh chroot tarballs older than this.
    #[arg(long, default_value_t = 7)]
    pub max_age_days: u64,
}

impl HostArgs {
    pub fn options(&self) -> setup::Options {
        let home = dirs::home_dir().unwrap_or_else(|| "/root".into());
        setup::Options {
            archs: self.archs.clone(),
            suite: self.suite.clone(),
            mirror: self.mirror.clone(),
            max_age: Duration::from_secs(self.max_age_days * 86_400),
            chroot_dir: crate::sbuild::default_chroot_dir(),
            host_arch: Arch::host(),
            sbuild_config: home.join(".config/sbuild/config.pl"),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub host: HostArgs,
    /// Do not install packages (report what is missing instead).
    #[arg(long)]
    pub no_install: bool,
}

pub fn run(args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    let opts = args.host.options();
    // The cross tarballs' checks are there only for those runs made.
    let count = setup::evaluate(&opts, &setup::probe(&opts)).len();
    let mut unresolved = 0;
    // Re-probe before each check: earlier fixes (installed packages, a
    // mounted binfmt_misc) change what later checks see.
    for i in 0..count {
        let Some(c) = setup::evaluate(&opts, &setup::probe(&opts))
            .into_iter()
            .nth(i)
        else {
            break;
        };
        if c.ok {
            println!("ok      {}: {}", c.name, c.detail);
            continue;
        }
        if c.kind == Kind::Install && args.no_install {
            println!("missing {}: {} (--no-install)", c.name, c.detail);
            for a in &c.fix {
                println!("          fix: {a}");
            }
            unresolved += 1;
            continue;
        }
        println!("fixing  {}: {}", c.name, c.detail);
        let started = std::time::Instant::now();
        for a in &c.fix {
            println!("          $ {a}");
            setup::apply(a)?;
        }
        // A tarball made just now is fresh whatever --max-age-days says.
        let mut verify = opts.clone();
        if c.kind == Kind::Chroot {
            verify.max_age = verify
                .max_age
                .max(started.elapsed() + Duration::from_secs(60));
        }
        let again = setup::evaluate(&verify, &setup::probe(&verify))
            .into_iter()
            .nth(i);
        let Some(again) = again else { break };
        if again.ok {
            println!("done    {}: {}", again.name, again.detail);
        } else {
            println!("FAILED  {}: {}", again.name, again.detail);
            unresolved += 1;
        }
    }
    Ok(if unresolved == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
