//! Pure: what a stack's plan asks its warm chroot tarballs to hold — the
//! build-dependencies from the archive that most of an arch's builds
//! install — and which of them a tarball still lacks. The tarball's files
//! and their rules are `sbuild`'s (`warm_packages`, `warm_is_usable`); the
//! remaking is `setup::warm_actions`, run by `cascade setup` and by a run
//! whose plan wants more.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{ArchPlan, Choice, Status};

/// A build-dependency is common when at least this share of an arch's
/// buildable sources install it from the archive (and at least two do):
/// then preinstalling it saves more Install-Time than the few builds that
/// do not need it lose by unpacking a larger tarball.
pub const MIN_SHARE: f64 = 0.5;

/// The archive packages that at least [`MIN_SHARE`] of `plan`'s buildable
/// sources (and two of them) build-depend on, as installable names:
/// `real_name` maps a relation's name to the package apt would install for
/// it (itself, or the one provider of a virtual package such as
/// `debhelper-compat`), `None` when there is no single such package.
pub fn common_build_deps(
    plan: &ArchPlan,
    real_name: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let buildable: Vec<_> = (plan.sources.iter())
        .filter(|s| s.status == Status::Buildable)
        .collect();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for source in &buildable {
        let names: BTreeSet<String> = (source.build_deps.iter())
            .filter_map(|d| match &d.choice {
                Choice::Archive { package, .. } => real_name(package),
                _ => None,
            })
            .collect();
        for name in names {
            *count.entry(name).or_default() += 1;
        }
    }
    let needed = (MIN_SHARE * buildable.len() as f64).ceil().max(2.0) as usize;
    count
        .into_iter()
        .filter(|(_, n)| *n >= needed)
        .map(|(name, _)| name)
        .collect()
}

/// Of `wanted`, what a tarball made with `has` lacks.
pub fn lacking(wanted: &[String], has: &[String]) -> Vec<String> {
    (wanted.iter())
        .filter(|w| !has.contains(w))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ResolvedDep, SourcePlan};

    fn archive(package: &str) -> ResolvedDep {
        ResolvedDep {
            relation: package.into(),
            choice: Choice::Archive {
                alternative: 0,
                package: package.into(),
                instead_of: None,
            },
        }
    }

    fn stack(package: &str) -> ResolvedDep {
        ResolvedDep {
            relation: package.into(),
            choice: Choice::Stack {
                alternative: 0,
                package: package.into(),
                source: package.into(),
            },
        }
    }

    fn source(name: &str, status: Status, deps: Vec<ResolvedDep>) -> SourcePlan {
        SourcePlan {
            name: name.into(),
            version: "1".into(),
            status,
            wave: None,
            reason: None,
            bootstrap: false,
            widened: None,
            depends_on: Vec::new(),
            build_deps: deps,
        }
    }

    fn arch_plan(sources: Vec<SourcePlan>) -> ArchPlan {
        ArchPlan {
            arch: "amd64".into(),
            port: false,
            sources,
            edges: Vec::new(),
            waves: Vec::new(),
            order: Vec::new(),
            excluded: Vec::new(),
            blocked: Vec::new(),
            frontier: Vec::new(),
            cycles: Vec::new(),
        }
    }

    /// The archive of the tests: `debhelper-compat` is virtual, provided by
    /// debhelper alone; `c-compiler` by two packages.
    fn real_name(name: &str) -> Option<String> {
        match name {
            "debhelper-compat" => Some("debhelper".into()),
            "c-compiler" => None,
            n => Some(n.into()),
        }
    }

    #[test]
    fn half_of_the_buildable_sources_make_a_dependency_common() {
        use Status::*;
        let dh = || archive("debhelper-compat");
        let plan = arch_plan(vec![
            source(
                "a",
                Buildable,
                vec![dh(), archive("cmake"), archive("c-compiler")],
            ),
            source(
                "b",
                Buildable,
                vec![dh(), archive("cmake"), archive("c-compiler")],
            ),
            source(
                "c",
                Buildable,
                vec![dh(), stack("libdemo-dev"), archive("python3")],
            ),
            source("d", Buildable, vec![dh(), stack("libdemo-dev")]),
            // Not built here: what it would install does not count.
            source("e", Excluded, vec![archive("python3"), archive("cmake")]),
            source("f", Blocked, vec![archive("python3"), archive("cmake")]),
        ]);
        // cmake: 2 of 4 (half); python3: 1 of 4; libdemo-dev is the stack's;
        // c-compiler has no single package to install.
        assert_eq!(common_build_deps(&plan, real_name), ["cmake", "debhelper"]);
    }

    #[test]
    fn one_source_alone_makes_nothing_common() {
        let plan = arch_plan(vec![source("a", Status::Buildable, vec![archive("cmake")])]);
        assert!(common_build_deps(&plan, real_name).is_empty());
        assert!(common_build_deps(&arch_plan(Vec::new()), real_name).is_empty());
    }

    #[test]
    fn lacking_is_what_the_stamp_does_not_name() {
        let has = crate::sbuild::warm_list([]);
        let wanted = vec!["debhelper".to_string(), "cmake".to_string()];
        assert_eq!(lacking(&wanted, &has), ["cmake"]);
        assert!(lacking(&has, &has).is_empty());
    }
}
