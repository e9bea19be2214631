//! Debian architecture names.
//!
//! `Arch` is a validated Debian architecture name (`amd64`, `riscv64`, …).
//! Wildcard matching with dpkg's semantics (`linux-any`, `any-amd64`) lives in
//! `control`, next to the relations that use it.

use std::borrow::Cow;
use std::fmt;

/// Release architectures and ports cascade knows about. A recipe naming any
/// other architecture is rejected, so that a typo (`riscv`) is caught early.
pub const KNOWN: &[&str] = &[
    "all",
    "amd64",
    "arm64",
    "armel",
    "armhf",
    "i386",
    "loong64",
    "mips64el",
    "ppc64el",
    "riscv64",
    "s390x",
    "alpha",
    "hppa",
    "m68k",
    "powerpc",
    "ppc64",
    "sh4",
    "sparc64",
    "x32",
    "hurd-amd64",
    "hurd-i386",
];

/// A Debian architecture name, validated against [`KNOWN`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Arch(Cow<'static, str>);

impl Arch {
    /// The pseudo-architecture of arch-independent packages and jobs.
    pub const ALL: Arch = Arch(Cow::Borrowed("all"));

    /// Accepts a known architecture name; `None` otherwise.
    pub fn new(name: &str) -> Option<Arch> {
        KNOWN
            .iter()
            .find(|k| **k == name)
            .map(|k| Arch(Cow::Borrowed(k)))
    }

    /// Is this `all`, the arch of arch-independent packages?
    pub fn is_all(&self) -> bool {
        *self == Arch::ALL
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The build machine's architecture as dpkg would name it.
    pub fn host() -> Arch {
        let name = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "powerpc64" => "ppc64el",
            "riscv64" => "riscv64",
            "s390x" => "s390x",
            "x86" => "i386",
            _ => "amd64",
        };
        Arch(Cow::Borrowed(name))
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arch::new(s)
            .ok_or_else(|| format!("unknown architecture `{s}` (known: {})", KNOWN.join(", ")))
    }
}

impl<'de> serde::Deserialize<'de> for Arch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown() {
        assert_eq!(Arch::new("riscv64").unwrap().as_str(), "riscv64");
        assert!(Arch::new("riscv").is_none());
        assert_eq!(Arch::new("all"), Some(Arch::ALL));
        assert!(Arch::ALL.is_all() && !Arch::host().is_all());
        assert!(
            "x86_64"
                .parse::<Arch>()
                .unwrap_err()
                .contains("unknown architecture")
        );
    }
}
