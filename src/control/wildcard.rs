//! dpkg's architecture matching (`Dpkg::Arch::debarch_is`).
//!
//! dpkg maps every architecture to a tuple `abi-libc-os-cpu` (`amd64` is
//! `base-gnu-linux-amd64`, `armhf` is `eabihf-gnu-linux-arm`) and a wildcard
//! to a tuple with `any` in some places (`linux-any` is `any-any-linux-any`,
//! `any-arm` is `any-any-any-arm`). A wildcard matches when every part is
//! equal or `any`. The table is dpkg's `tupletable`/`cputable`, restricted to
//! the architectures Debian and its ports use.

/// `abi, libc, os, cpu` of a Debian architecture name, if dpkg knows it.
pub fn arch_tuple(arch: &str) -> Option<[&str; 4]> {
    Some(match arch {
        "amd64" => ["base", "gnu", "linux", "amd64"],
        "arm64" => ["base", "gnu", "linux", "arm64"],
        "armel" => ["eabi", "gnu", "linux", "arm"],
        "armhf" => ["eabihf", "gnu", "linux", "arm"],
        "i386" => ["base", "gnu", "linux", "i386"],
        "loong64" => ["base", "gnu", "linux", "loong64"],
        "mips64el" => ["abi64", "gnu", "linux", "mips64el"],
        "mipsel" => ["base", "gnu", "linux", "mipsel"],
        "ppc64el" => ["base", "gnu", "linux", "ppc64el"],
        "ppc64" => ["base", "gnu", "linux", "ppc64"],
        "powerpc" => ["base", "gnu", "linux", "powerpc"],
        "riscv64" => ["base", "gnu", "linux", "riscv64"],
        "s390x" => ["base", "gnu", "linux", "s390x"],
        "alpha" => ["base", "gnu", "linux", "alpha"],
        "hppa" => ["base", "gnu", "linux", "hppa"],
        "m68k" => ["base", "gnu", "linux", "m68k"],
        "sh4" => ["base", "gnu", "linux", "sh4"],
        "sparc64" => ["base", "gnu", "linux", "sparc64"],
        "x32" => ["x32", "gnu", "linux", "amd64"],
        "hurd-amd64" => ["base", "gnu", "hurd", "amd64"],
        "hurd-i386" => ["base", "gnu", "hurd", "i386"],
        "kfreebsd-amd64" => ["base", "gnu", "kfreebsd", "amd64"],
        "kfreebsd-i386" => ["base", "gnu", "kfreebsd", "i386"],
        "musl-linux-amd64" => ["base", "musl", "linux", "amd64"],
        "musl-linux-arm64" => ["base", "musl", "linux", "arm64"],
        _ => return None,
    })
}

/// The tuple of a wildcard (`linux-any`, `any-amd64`, `gnu-any-any`, `any`),
/// as dpkg's `debwildcard_to_debtuple` builds it: a pattern with an `any`
/// part is padded with leading `any`s to four parts; one without is a plain
/// architecture name.
fn wildcard_tuple(pattern: &str) -> Option<[&str; 4]> {
    let parts: Vec<&str> = pattern.splitn(4, '-').collect();
    if !parts.contains(&"any") {
        return arch_tuple(pattern);
    }
    Some(match parts.as_slice() {
        [a, b, c, d] => [a, b, c, d],
        [b, c, d] => ["any", b, c, d],
        [c, d] => ["any", "any", c, d],
        _ => ["any", "any", "any", "any"],
    })
}

/// Does architecture `arch` match `pattern` (a name or a wildcard)?
/// `all` matches only `all`; `any` matches every architecture but `all`.
pub fn arch_matches(arch: &str, pattern: &str) -> bool {
    if arch == pattern {
        return true;
    }
    if arch == "all" || pattern == "all" {
        return false;
    }
    if pattern == "any" {
        return true;
    }
    match (arch_tuple(arch), wildcard_tuple(pattern)) {
        (Some(real), Some(alias)) => real
            .iter()
            .zip(alias.iter())
            .all(|(r, a)| *a == "any" || r == a),
        _ => false,
    }
}

/// Does `arch` match any pattern of an `Architecture:` list?
pub fn arch_list_matches<S: AsRef<str>>(arch: &str, list: &[S]) -> bool {
    list.iter().any(|p| arch_matches(arch, p.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert!(arch_matches("amd64", "amd64"));
        assert!(!arch_matches("amd64", "arm64"));
        assert!(!arch_matches("amd64", "all"));
        assert!(arch_matches("all", "all"));
        assert!(!arch_matches("all", "any"));
        assert!(!arch_matches("x32", "amd64"));
    }

    #[test]
    fn wildcards() {
        for a in [
            "amd64", "arm64", "ppc64el", "riscv64", "s390x", "armhf", "i386", "loong64",
        ] {
            assert!(arch_matches(a, "linux-any"), "{a}");
            assert!(arch_matches(a, "any"), "{a}");
            assert!(arch_matches(a, "gnu-linux-any"), "{a}");
            assert!(arch_matches(a, "any-linux-any"), "{a}");
        }
        assert!(!arch_matches("hurd-amd64", "linux-any"));
        assert!(arch_matches("hurd-amd64", "any-amd64"));
        assert!(arch_matches("hurd-amd64", "hurd-any"));
        assert!(arch_matches("amd64", "any-amd64"));
        assert!(arch_matches("x32", "any-amd64"));
        assert!(!arch_matches("arm64", "any-amd64"));
        assert!(arch_matches("armhf", "any-arm"));
        assert!(arch_matches("armel", "any-arm"));
        assert!(!arch_matches("arm64", "any-arm"));
        assert!(arch_matches("ppc64el", "any-ppc64el"));
        assert!(!arch_matches("ppc64", "any-ppc64el"));
        assert!(arch_matches("riscv64", "any-riscv64"));
        assert!(!arch_matches("riscv64", "kfreebsd-any"));
        assert!(!arch_matches("amd64", "bogus-any"));
        assert!(!arch_matches("amd64", "notanarch"));
    }

    #[test]
    fn lists() {
        assert!(arch_list_matches("riscv64", &["amd64", "linux-any"]));
        assert!(!arch_list_matches(
            "riscv64",
            &["amd64", "arm64", "ppc64el"]
        ));
        assert!(!arch_list_matches::<&str>("amd64", &[]));
    }
}
