//! `planner`: the glue from recipes, control data and the archive to a
//! [`Plan`]. `plan` is pure and takes plain [`SourceInput`]s and an
//! [`Available`] oracle; this module fills them in, per architecture:
//!
//! - **Control data** of each stack source ([`stack_sources`]): a checkout's
//!   `debian/control` when given, else the stack suite's Sources
//!   (experimental), else the base suite's (unstable).
//! - **What the archive offers** on an arch: the base suite's Packages of
//!   that arch (the chroots build on it), through [`Binary::satisfies`]
//!   (name and version, `Provides`, `:any` needing `Multi-Arch: allowed`).
//!   Experimental's Packages are not offered: sbuild's chroots don't see them.
//!
//! Decisions, and why:
//! - **Architecture: all-only sources** (rocm-cmake, half, pkg-rocm-tools,
//!   rocm-docs-core) are built once, on the host arch (the stack's first
//!   `native` arch, else its first), and their binaries are installable on
//!   every arch. So they appear in *every* arch's plan as buildable, never
//!   excluded and hence never "tried anyway" in a porting run: on the host
//!   arch with their real build-dependencies (Build-Depends +
//!   Build-Depends-Indep, evaluated for the host), elsewhere with none (they
//!   are not built there; the plan only says their binaries will exist).
//!   Consumers learn which they are from [`indep_split`]: `ci` gives them one
//!   `build:PKG:all` job, the runner builds them on the host arch only. Their
//!   recipe's `architectures` (`[amd64]`) names where they are built, so it
//!   excludes nothing.
//! - **Sources with both kinds** (mixed): arch:all binaries are built on the
//!   host arch only (with Build-Depends-Indep there), and count as built by
//!   the source on every arch, so dependents elsewhere get an edge to it.
//! - **`include_indep: false`** (`--no-indep`): no arch:all binary is built
//!   by the stack. Arch:all-only sources leave the plan (dependents take
//!   their binaries from the archive); mixed sources lose their arch:all
//!   binaries and Build-Depends-Indep.
//! - **Exclusion**: by the source's `Architecture` field
//!   (`Architecture: amd64 arm64 ppc64el`), else by the recipe's
//!   `architectures` (`recipe architectures: amd64 arm64`). In a porting run
//!   both are tried anyway: nearly every recipe lists the arches its
//!   packaging does today, and porting is about going beyond them.
//! - **Porting run**: a source tried on an arch its packaging leaves out gets
//!   its *widened* binaries: every binary whose own Architecture list left the
//!   arch out is built there too (what `port` does to debian/control).
//! - **Provides** are not in debian/control (substvars): they are read from
//!   the base suite's Packages of the arch, else of any other arch loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::arch::Arch;
use crate::archive::{self, Detail, FetchOptions, Fetcher, Mirror, Packages};
use crate::control::{self, Dep, Profiles, SourceInfo};
use crate::plan::{self, Alternative, ArchInput, Available, Plan, SourceInput, VersionReq};
use crate::recipe::{Recipe, Recipes, Stack};

/// Errors of gathering a plan's inputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{package}: no control data: no checkout given and not in the Sources of {}",
        looked_in.join(" or ")
    )]
    NoSource {
        package: String,
        looked_in: Vec<String>,
    },
    #[error("{package}: the checkout's debian/control is of source {found}")]
    WrongSource { package: String, found: String },
    #[error(transparent)]
    Control(#[from] control::Error),
    #[error(transparent)]
    Archive(#[from] archive::Error),
}

/// What to plan.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub arches: Vec<Arch>,
    /// Active build profiles (`nocheck`).
    pub profiles: Vec<String>,
    /// Porting run: sources an arch is left out for are tried there anyway.
    pub port: bool,
    /// Build arch:all binaries (on the host arch).
    pub include_indep: bool,
}

/// Control data of each stack source: debian/control of a checkout when
/// `checkouts` has the source (a path to the packaging tree), else the
/// archive suite's Sources (the stack suite, e.g. experimental, first; then
/// the base suite). Missing everywhere → an error naming the source.
pub fn stack_sources(
    recipes: &Recipes,
    checkouts: &BTreeMap<String, PathBuf>,
    suites: &[&archive::Suite],
) -> Result<Vec<SourceInfo>, Error> {
    recipes
        .recipes
        .iter()
        .map(|r| match source_info(&r.source, checkouts, suites)? {
            Some(info) => Ok(info),
            None => Err(Error::NoSource {
                package: r.source.clone(),
                looked_in: suites.iter().map(|s| s.name.clone()).collect(),
            }),
        })
        .collect()
}

/// Where a placeholder from [`stack_sources_or_absent`] says it came from.
pub const NOT_IN_SUITE: &str = "not in this suite";

/// [`stack_sources`] for a plan of what a suite can build today (`plan
/// --suite sid`): a source missing everywhere becomes a placeholder that
/// every arch excludes as "not in this suite (sid)", so that the rest of the
/// stack is still planned.
pub fn stack_sources_or_absent(
    recipes: &Recipes,
    checkouts: &BTreeMap<String, PathBuf>,
    suites: &[&archive::Suite],
) -> Result<Vec<SourceInfo>, Error> {
    let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
    let mut out = Vec::with_capacity(recipes.recipes.len());
    for r in &recipes.recipes {
        let info = source_info(&r.source, checkouts, suites)?;
        out.push(info.unwrap_or_else(|| SourceInfo {
            name: r.source.clone(),
            version: None,
            architecture: Vec::new(),
            maintainer: None,
            build_depends: Vec::new(),
            build_depends_arch: Vec::new(),
            build_depends_indep: Vec::new(),
            binaries: Vec::new(),
            testsuite_triggers: Vec::new(),
            origin: format!("{NOT_IN_SUITE} ({})", names.join(", ")),
        }));
    }
    Ok(out)
}

/// One source's control data from its checkout or the first suite that has it.
fn source_info(
    name: &str,
    checkouts: &BTreeMap<String, PathBuf>,
    suites: &[&archive::Suite],
) -> Result<Option<SourceInfo>, Error> {
    let Some(dir) = checkouts.get(name) else {
        return Ok(suites.iter().find_map(|s| s.sources.get(name)).cloned());
    };
    let info = SourceInfo::from_control_file(&dir.join("debian/control"))?;
    if info.name != name {
        return Err(Error::WrongSource {
            package: name.to_string(),
            found: info.name,
        });
    }
    Ok(Some(info))
}

/// A placeholder of [`stack_sources_or_absent`]: its exclusion text.
fn absent(info: &SourceInfo) -> Option<String> {
    (info.architecture.is_empty() && info.origin.starts_with(NOT_IN_SUITE))
        .then(|| info.origin.clone())
}

/// Does `info` build only `Architecture: all` binaries?
pub fn is_indep_only(info: &SourceInfo) -> bool {
    info.builds_indep() && info.architecture.iter().all(|a| a == "all")
}

/// Which stack sources build only arch:all binaries, and which build both
/// (for CI and the runner).
pub fn indep_split(sources: &[SourceInfo]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut indep_only = BTreeSet::new();
    let mut mixed = BTreeSet::new();
    for s in sources {
        if is_indep_only(s) {
            indep_only.insert(s.name.clone());
        } else if s.builds_indep() {
            mixed.insert(s.name.clone());
        }
    }
    (indep_only, mixed)
}

pub use crate::jobgraph::host_arch;

/// The archive's offer on one arch: a Packages index.
struct Offer<'a>(Option<&'a Packages>);

impl Available for Offer<'_> {
    fn satisfies(&self, alternative: &Alternative) -> bool {
        self.0.is_some_and(|p| p.can_satisfy(&to_dep(alternative)))
    }
}

fn to_dep(a: &Alternative) -> Dep {
    Dep {
        name: a.name.clone(),
        archqual: a.arch_qualifier.clone(),
        version: a.version.as_ref().map(|v| (v.op, v.version.clone())),
    }
}

fn to_alternative(d: &Dep) -> Alternative {
    Alternative {
        name: d.name.clone(),
        version: d.version.as_ref().map(|(op, v)| VersionReq {
            op: *op,
            version: v.clone(),
        }),
        arch_qualifier: d.archqual.clone(),
    }
}

/// The [`SourceInput`] of one stack source on one arch.
fn source_input(
    recipes: &Recipes,
    info: &SourceInfo,
    arch: &Arch,
    host: Option<&Arch>,
    base: &archive::Suite,
    opts: &Options,
    profiles: &Profiles,
) -> Option<SourceInput> {
    let recipe = recipes.get(&info.name);
    let on_host = host.is_none_or(|h| h == arch);
    let (binaries, build_deps, arch_exclusion) = if is_indep_only(info) {
        if !opts.include_indep {
            return None;
        }
        let build_deps = if on_host {
            info.build_deps(arch, profiles, false, true)
        } else {
            Vec::new()
        };
        (indep_binaries(info, arch, profiles), build_deps, None)
    } else {
        let indep = opts.include_indep && on_host && info.builds_indep();
        (
            arch_binaries(info, arch, opts, profiles),
            info.build_deps(arch, profiles, true, indep),
            arch_exclusion(info, recipe, arch),
        )
    };
    Some(SourceInput {
        name: info.name.clone(),
        version: info
            .version
            .clone()
            .or_else(|| recipe.map(|r| r.debian_version()))
            .unwrap_or_default(),
        arch_exclusion,
        provides: provides_of(&binaries, arch, base),
        binaries,
        build_deps: build_deps
            .iter()
            .map(|alts| alts.iter().map(to_alternative).collect())
            .collect(),
        bootstrap: recipe.is_some_and(|r| r.bootstrap),
    })
}

/// The binaries an arch:all-only source builds on `arch`.
fn indep_binaries(info: &SourceInfo, arch: &Arch, profiles: &Profiles) -> Vec<String> {
    info.binaries
        .iter()
        .filter(|b| b.built_on(arch.as_str(), profiles))
        .map(|b| b.name.clone())
        .collect()
}

/// The binaries a source with arch binaries builds on `arch`: every binary
/// its profiles allow when the run widens its Architecture field, arch:all
/// ones only with `include_indep`.
fn arch_binaries(
    info: &SourceInfo,
    arch: &Arch,
    opts: &Options,
    profiles: &Profiles,
) -> Vec<String> {
    let widen = opts.port && !info.builds_on(arch);
    info.binaries
        .iter()
        .filter(|b| {
            let all = b.architecture.iter().any(|a| a == "all");
            if all && !opts.include_indep {
                return false;
            }
            if widen {
                control::relation::profile_formula_holds(&b.profiles, profiles)
            } else {
                b.built_on(arch.as_str(), profiles)
            }
        })
        .map(|b| b.name.clone())
        .collect()
}

/// Why a source is not built on `arch` whatever the archive offers: absent
/// from the suite, its Architecture field, or its recipe's architectures.
fn arch_exclusion(info: &SourceInfo, recipe: Option<&Recipe>, arch: &Arch) -> Option<String> {
    if let Some(text) = absent(info) {
        return Some(text);
    }
    if !info.builds_on(arch) {
        return Some(format!("Architecture: {}", info.architecture.join(" ")));
    }
    match recipe.and_then(|r| r.architectures.as_ref()) {
        Some(list) if !list.contains(arch) => Some(format!(
            "recipe architectures: {}",
            list.iter().map(Arch::as_str).collect::<Vec<_>>().join(" ")
        )),
        _ => None,
    }
}

/// The virtual packages `binaries` provide, from the base suite's Packages of
/// `arch`, else of the first other arch that has the binary.
fn provides_of(binaries: &[String], arch: &Arch, base: &archive::Suite) -> Vec<String> {
    let mut out = BTreeSet::new();
    for b in binaries {
        let found = base
            .packages
            .get(arch.as_str())
            .and_then(|p| p.get(b))
            .or_else(|| base.packages.values().find_map(|p| p.get(b)));
        if let Some(bin) = found {
            out.extend(bin.provides.iter().map(|p| p.name.clone()));
        }
    }
    out.into_iter().collect()
}

/// Per arch: a [`SourceInput`] for every stack source (see the module
/// comment), an [`Available`] oracle over the base suite's Packages for that
/// arch, then [`plan::plan`].
pub fn plan_stack(
    recipes: &Recipes,
    sources: &[SourceInfo],
    base: &archive::Suite,
    opts: &Options,
) -> Plan {
    let profiles = Profiles::new(opts.profiles.iter().cloned());
    let host = host_arch(&recipes.stack);
    let offers: Vec<Offer<'_>> = opts
        .arches
        .iter()
        .map(|a| Offer(base.packages.get(a.as_str())))
        .collect();
    let inputs: Vec<ArchInput<'_>> = opts
        .arches
        .iter()
        .zip(&offers)
        .map(|(arch, offer)| ArchInput {
            arch: arch.to_string(),
            sources: sources
                .iter()
                .filter_map(|s| {
                    source_input(recipes, s, arch, host.as_ref(), base, opts, &profiles)
                })
                .collect(),
            archive: offer,
        })
        .collect();
    plan::plan(&inputs, plan::Options { port: opts.port })
}

/// Loads the suites a plan needs for `arches` from the stack's mirror (or
/// `mirror`, a URL or directory): the base suite with Sources and each
/// arch's Packages, and the stack suite's Sources (`None` when it is the
/// base suite).
pub fn load_suites(
    stack: &Stack,
    arches: &[Arch],
    mirror: Option<&str>,
    cache: &Path,
    allow_expired: bool,
    policy: &archive::Policy,
) -> Result<(archive::Suite, Option<archive::Suite>), Error> {
    let fetcher = Fetcher::new(
        Mirror::parse(mirror.unwrap_or(&stack.mirror)),
        &FetchOptions {
            cache_dir: Some(cache.to_path_buf()),
            allow_expired,
            policy: policy.clone(),
        },
    )?;
    let names: Vec<&str> = arches.iter().map(Arch::as_str).collect();
    // Lean: the plan asks only whether a build-dependency is satisfiable,
    // never for binaries' own Depends (half of parsing four Packages).
    fn canonical(a: &str) -> &str {
        if a == "unstable" { "sid" } else { a }
    }
    let same = canonical(&stack.suite) == canonical(&stack.base_suite);
    // The stack suite's small Sources alongside the base suite's indices,
    // rather than after them.
    let (base, stack_suite) = std::thread::scope(|s| {
        let stack_suite = (!same).then(|| {
            // Only its Sources: builds never install from it.
            s.spawn(|| archive::load_suite(&fetcher, &stack.suite, &[]))
        });
        let base = archive::load_suite_with(&fetcher, &stack.base_suite, &names, Detail::Lean);
        let stack_suite = stack_suite.map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (base, stack_suite)
    });
    Ok((base?, stack_suite.transpose()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Release;

    fn recipes() -> Recipes {
        crate::recipe::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes")).unwrap()
    }

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    /// A base suite with one Packages index per (arch, text).
    fn suite(packages: &[(&str, &str)]) -> archive::Suite {
        archive::Suite {
            name: "sid".into(),
            release: Release {
                suite: None,
                codename: None,
                date: None,
                valid_until: None,
                architectures: vec![],
                expired: false,
                all_in_arch_indices: true,
                sha256: Default::default(),
            },
            sources: Default::default(),
            packages: packages
                .iter()
                .map(|(a, text)| (a.to_string(), Packages::parse(text, "test", a).unwrap()))
                .collect(),
        }
    }

    fn control(text: &str) -> SourceInfo {
        SourceInfo::from_control_str(text, "test/debian/control").unwrap()
    }

    fn opts(arches: &[&str], port: bool) -> Options {
        Options {
            arches: arches.iter().map(|a| arch(a)).collect(),
            profiles: vec![],
            port,
            include_indep: true,
        }
    }

    fn input(
        info: &SourceInfo,
        a: &str,
        base: &archive::Suite,
        opts: &Options,
    ) -> Option<SourceInput> {
        let r = recipes();
        let host = host_arch(&r.stack);
        source_input(
            &r,
            info,
            &arch(a),
            host.as_ref(),
            base,
            opts,
            &Profiles::none(),
        )
    }

    #[test]
    fn recipe_architectures_exclude_where_the_packaging_would_build() {
        // rocm-core's recipe says [amd64, arm64].
        let info = control("Source: rocm-core\n\nPackage: librocm-core1\nArchitecture: any\n");
        let s = input(&info, "riscv64", &suite(&[]), &opts(&["riscv64"], false)).unwrap();
        assert_eq!(
            s.arch_exclusion.as_deref(),
            Some("recipe architectures: amd64 arm64")
        );
        let s = input(&info, "arm64", &suite(&[]), &opts(&["arm64"], false)).unwrap();
        assert_eq!(s.arch_exclusion, None);
    }

    #[test]
    fn a_porting_run_widens_binaries() {
        let info = control(
            "Source: rocblas\n\nPackage: librocblas5\nArchitecture: amd64 arm64\n\n\
             Package: librocblas-doc\nArchitecture: all\n",
        );
        let s = input(&info, "riscv64", &suite(&[]), &opts(&["riscv64"], false)).unwrap();
        assert_eq!(
            s.arch_exclusion.as_deref(),
            Some("Architecture: amd64 arm64 all")
        );
        assert_eq!(s.binaries, ["librocblas-doc"]);
        let s = input(&info, "riscv64", &suite(&[]), &opts(&["riscv64"], true)).unwrap();
        assert_eq!(s.binaries, ["librocblas5", "librocblas-doc"]);
    }

    #[test]
    fn arch_all_only_sources_build_on_the_host_only() {
        let info = control(
            "Source: rocm-cmake\nBuild-Depends: cmake\nBuild-Depends-Indep: python3-sphinx\n\n\
             Package: rocm-cmake\nArchitecture: all\n",
        );
        let base = suite(&[]);
        let host = input(&info, "amd64", &base, &opts(&["amd64"], true)).unwrap();
        assert_eq!(host.arch_exclusion, None);
        assert_eq!(
            host.build_deps.len(),
            2,
            "Build-Depends + -Indep on the host"
        );
        let other = input(&info, "riscv64", &base, &opts(&["riscv64"], true)).unwrap();
        assert_eq!(other.arch_exclusion, None, "never tried anyway");
        assert!(other.build_deps.is_empty(), "not built here");
        assert_eq!(other.binaries, ["rocm-cmake"]);
        let mut no_indep = opts(&["amd64"], false);
        no_indep.include_indep = false;
        assert!(input(&info, "amd64", &base, &no_indep).is_none());
    }

    #[test]
    fn mixed_sources_take_build_depends_indep_on_the_host_only() {
        let info = control(
            "Source: rocprim\nBuild-Depends: cmake\nBuild-Depends-Arch: hipcc\n\
             Build-Depends-Indep: doxygen\n\n\
             Package: librocprim-dev\nArchitecture: amd64 arm64\n\n\
             Package: librocprim-doc\nArchitecture: all\n",
        );
        let base = suite(&[]);
        let names = |s: &SourceInput| -> Vec<String> {
            s.build_deps.iter().map(|g| g[0].name.clone()).collect()
        };
        let amd64 = input(&info, "amd64", &base, &opts(&["amd64"], false)).unwrap();
        assert_eq!(names(&amd64), ["cmake", "hipcc", "doxygen"]);
        let arm64 = input(&info, "arm64", &base, &opts(&["arm64"], false)).unwrap();
        assert_eq!(names(&arm64), ["cmake", "hipcc"]);
        assert_eq!(arm64.binaries, ["librocprim-dev", "librocprim-doc"]);
        assert_eq!(
            indep_split(&[info]),
            (BTreeSet::new(), BTreeSet::from(["rocprim".to_string()]))
        );
    }

    #[test]
    fn the_oracle_checks_versions_provides_and_any() {
        let base = suite(&[(
            "amd64",
            "Package: cmake\nVersion: 3.31.6-1\nArchitecture: amd64\n\n\
             Package: python3\nVersion: 3.13.5-1\nArchitecture: amd64\nMulti-Arch: allowed\n\n\
             Package: pkgconf\nVersion: 1.8.1-4\nArchitecture: amd64\nProvides: pkg-config (= 1.8.1-4)\n",
        )]);
        let offer = Offer(base.packages.get("amd64"));
        let alt = |text: &str| {
            let deps = control::parse_relations(text).unwrap();
            to_alternative(&deps[0][0].dep)
        };
        assert!(offer.satisfies(&alt("cmake (>= 3.20)")));
        assert!(!offer.satisfies(&alt("cmake (>= 4)")));
        assert!(offer.satisfies(&alt("pkg-config")));
        assert!(offer.satisfies(&alt("python3:any")));
        assert!(
            !offer.satisfies(&alt("cmake:any")),
            "not Multi-Arch: allowed"
        );
        assert!(!Offer(None).satisfies(&alt("cmake")));
    }

    #[test]
    fn stack_sources_prefer_checkouts_then_the_first_suite() {
        let mut r = recipes();
        r.recipes
            .retain(|x| x.source == "rocm-cmake" || x.source == "half");
        let with_sources = |name: &str, text: &str| {
            let mut s = suite(&[]);
            s.name = name.into();
            s.sources = archive::Sources::parse(text, name).unwrap();
            s
        };
        let exp = with_sources(
            "experimental",
            "Package: rocm-cmake\nVersion: 7-1\nArchitecture: all\n",
        );
        let sid = with_sources(
            "sid",
            "Package: rocm-cmake\nVersion: 6-1\nArchitecture: all\n\n\
             Package: half\nVersion: 2-1\nArchitecture: all\n",
        );
        let found = stack_sources(&r, &BTreeMap::new(), &[&exp, &sid]).unwrap();
        let versions: BTreeMap<&str, Option<&str>> = found
            .iter()
            .map(|s| (s.name.as_str(), s.version.as_deref()))
            .collect();
        assert_eq!(versions["rocm-cmake"], Some("7-1"));
        assert_eq!(versions["half"], Some("2-1"));

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("debian")).unwrap();
        std::fs::write(
            dir.path().join("debian/control"),
            "Source: rocm-cmake\n\nPackage: rocm-cmake\nArchitecture: all\n",
        )
        .unwrap();
        let checkouts = BTreeMap::from([("rocm-cmake".to_string(), dir.path().to_path_buf())]);
        let found = stack_sources(&r, &checkouts, &[&exp, &sid]).unwrap();
        let cmake = found.iter().find(|s| s.name == "rocm-cmake").unwrap();
        assert!(cmake.origin.ends_with("debian/control"), "{}", cmake.origin);

        let err = stack_sources(&r, &BTreeMap::new(), &[&exp]).unwrap_err();
        assert!(
            matches!(&err, Error::NoSource { package, looked_in }
                if package == "half" && looked_in == &["experimental"]),
            "{err}"
        );
        let wrong = BTreeMap::from([("half".to_string(), dir.path().to_path_buf())]);
        assert!(matches!(
            stack_sources(&r, &wrong, &[&exp, &sid]),
            Err(Error::WrongSource { .. })
        ));
    }
}
