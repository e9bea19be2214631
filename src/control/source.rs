//! [`SourceInfo`]: what cascade needs to know about one source package —
//! its architectures, its build relations and the binaries it builds — read
//! from a checkout's `debian/control` or from a Sources index paragraph.

use std::path::Path;

use super::Error;
use super::deb822::{Paragraph, paragraphs};
use super::relation::{
    Dep, ProfileTerm, Profiles, Relation, evaluate, from_lossless, parse_relations,
    profile_formula_holds,
};
use super::wildcard::arch_matches;
use crate::arch::Arch;

/// One source package, with relations not yet evaluated for an arch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceInfo {
    pub name: String,
    /// From a Sources index; `None` when read from `debian/control`.
    pub version: Option<String>,
    /// The `Architecture:` list: `any`, `all`, names and wildcards. From
    /// `debian/control` it is the union of the binaries' lists, which is what
    /// dpkg-source writes into the .dsc.
    pub architecture: Vec<String>,
    pub maintainer: Option<String>,
    pub build_depends: Vec<Vec<Relation>>,
    pub build_depends_arch: Vec<Vec<Relation>>,
    pub build_depends_indep: Vec<Vec<Relation>>,
    pub binaries: Vec<BinaryInfo>,
    /// The binaries its autopkgtests name (`Testsuite-Triggers:` of a .dsc
    /// or Sources paragraph, which dpkg-source writes from the tests'
    /// `Depends`, its own binaries left out); empty from `debian/control`.
    pub testsuite_triggers: Vec<String>,
    /// Where this came from (`path/debian/control`, `Sources:1234`), for messages.
    pub origin: String,
}

/// A binary package a source builds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BinaryInfo {
    pub name: String,
    /// Its own `Architecture:` list (`any`, `all`, `amd64 arm64`, `linux-any`).
    pub architecture: Vec<String>,
    /// `Build-Profiles:` (`<!nocheck>`) as an OR of AND-lists; empty when always built.
    pub profiles: Vec<Vec<ProfileTerm>>,
    /// `deb` or `udeb`.
    pub package_type: String,
}

impl BinaryInfo {
    /// Is this binary built when building for `arch` with `profiles`?
    /// `Architecture: all` binaries count: they are installable everywhere.
    pub fn built_on(&self, arch: &str, profiles: &Profiles) -> bool {
        self.architecture
            .iter()
            .any(|a| a == "all" || arch_matches(arch, a))
            && profile_formula_holds(&self.profiles, profiles)
    }
}

impl SourceInfo {
    /// Does the source build architecture-dependent packages on `arch`?
    /// (`Architecture: all` alone means it builds only indep packages: false.)
    pub fn builds_on(&self, arch: &Arch) -> bool {
        self.architecture
            .iter()
            .any(|a| a != "all" && arch_matches(arch.as_str(), a))
    }

    /// Does the source build `Architecture: all` packages?
    pub fn builds_indep(&self) -> bool {
        self.architecture.iter().any(|a| a == "all")
    }

    /// Binaries built for `arch` with no profile active, including
    /// `Architecture: all` ones (needed on every arch).
    pub fn binaries_on(&self, arch: &Arch) -> Vec<&str> {
        self.binaries_on_with(arch, &Profiles::none())
    }

    /// Binaries built for `arch` with `profiles` active (see [`Self::binaries_on`]).
    pub fn binaries_on_with(&self, arch: &Arch, profiles: &Profiles) -> Vec<&str> {
        self.binaries
            .iter()
            .filter(|b| b.built_on(arch.as_str(), profiles))
            .map(|b| b.name.as_str())
            .collect()
    }

    /// The build-dependencies for `arch` and `profiles`: an AND of OR-groups
    /// (alternatives in the order written; a consumer takes the first it can
    /// satisfy), restrictions applied, groups that lose every alternative
    /// dropped. `Build-Depends` always; `Build-Depends-Arch` if `include_arch`
    /// (a binary-arch build); `Build-Depends-Indep` if `include_indep`.
    pub fn build_deps(
        &self,
        arch: &Arch,
        profiles: &Profiles,
        include_arch: bool,
        include_indep: bool,
    ) -> Vec<Vec<Dep>> {
        let a = arch.as_str();
        let mut deps = evaluate(&self.build_depends, a, profiles);
        if include_arch {
            deps.extend(evaluate(&self.build_depends_arch, a, profiles));
        }
        if include_indep {
            deps.extend(evaluate(&self.build_depends_indep, a, profiles));
        }
        deps
    }

    /// Every dep of every alternative that applies for `arch` and `profiles`,
    /// flattened and without copying: for scans over a whole archive
    /// (`rdeps`), where the grouping into alternatives does not matter.
    pub fn applicable_deps<'s>(
        &'s self,
        arch: &'s Arch,
        profiles: &'s Profiles,
        include_arch: bool,
        include_indep: bool,
    ) -> impl Iterator<Item = &'s Dep> + 's {
        let none: &[Vec<Relation>] = &[];
        let arch_rels = if include_arch {
            &self.build_depends_arch[..]
        } else {
            none
        };
        let indep_rels = if include_indep {
            &self.build_depends_indep[..]
        } else {
            none
        };
        self.build_depends
            .iter()
            .chain(arch_rels)
            .chain(indep_rels)
            .flatten()
            .filter(move |r| r.applies(arch.as_str(), profiles))
            .map(|r| &r.dep)
    }

    /// Reads `debian/control` of a checkout, and `debian/tests/control`
    /// beside it for the `Testsuite-Triggers` dpkg-source would write
    /// ([`SourceInfo::with_test_control`]).
    pub fn from_control_file(path: &Path) -> Result<SourceInfo, Error> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))
        };
        let info = SourceInfo::from_control_str(&read(path)?, &path.display().to_string())?;
        let tests = path.with_file_name("tests").join("control");
        match tests.is_file() {
            true => info.with_test_control(&read(&tests)?, &tests.display().to_string()),
            false => Ok(info),
        }
    }

    /// With the `Testsuite-Triggers` dpkg-source derives from a
    /// `debian/tests/control`: the packages its tests' `Depends` name
    /// (alternatives too), without `@`-substitutions and this source's own
    /// binaries; `origin` names the file in errors.
    pub fn with_test_control(mut self, text: &str, origin: &str) -> Result<SourceInfo, Error> {
        let mut names = Vec::new();
        for p in paragraphs(text) {
            let p = p.map_err(|e| Error::Syntax {
                origin: origin.to_string(),
                line: e.line,
                message: e.message,
            })?;
            let depends = p.get("Depends").unwrap_or("@");
            let items = depends.split([',', '|']).map(str::trim);
            names.extend(package_names(&items.collect::<Vec<_>>().join(",")));
        }
        names.retain(|n| !n.starts_with('@') && !self.binaries.iter().any(|b| &b.name == n));
        names.sort();
        names.dedup();
        self.testsuite_triggers = names;
        Ok(self)
    }

    /// Reads a .dsc (unsigned, as dpkg-source writes it, or clear-signed).
    /// A .dsc is a Sources paragraph whose first field is `Source:` instead
    /// of `Package:`; it is what sbuild builds, so plans are made from
    /// exactly that.
    pub fn from_dsc_file(path: &Path) -> Result<SourceInfo, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))?;
        SourceInfo::from_dsc_str(&text, &path.display().to_string())
    }

    /// Parses the text of a .dsc; `origin` names it in errors.
    pub fn from_dsc_str(text: &str, origin: &str) -> Result<SourceInfo, Error> {
        // Clear-signed: the paragraph sits between the armour header's blank
        // line and the signature.
        let body = match text.find("-----BEGIN PGP SIGNED MESSAGE-----") {
            Some(_) => {
                let start = text.find("\n\n").map(|i| i + 2).unwrap_or(0);
                let end = text
                    .find("-----BEGIN PGP SIGNATURE-----")
                    .unwrap_or(text.len());
                &text[start..end]
            }
            None => text,
        };
        let mut renamed = String::with_capacity(body.len());
        for line in body.lines() {
            match line.strip_prefix("Source:") {
                Some(rest) => {
                    renamed.push_str("Package:");
                    renamed.push_str(rest);
                }
                None => renamed.push_str(line),
            }
            renamed.push('\n');
        }
        let syntax = |line: usize, message: String| Error::Syntax {
            origin: origin.to_string(),
            line,
            message,
        };
        match paragraphs(&renamed).next() {
            Some(Ok(para)) => SourceInfo::from_sources_paragraph(&para, origin),
            Some(Err(e)) => Err(syntax(e.line, e.message)),
            None => Err(syntax(1, "empty .dsc".into())),
        }
    }

    /// Parses the text of a `debian/control` file; `origin` names it in errors.
    /// Relations go through `debian-control`'s relaxed parser (substvars allowed).
    pub fn from_control_str(text: &str, origin: &str) -> Result<SourceInfo, Error> {
        let syntax = |e: super::deb822::SyntaxError| Error::Syntax {
            origin: origin.to_string(),
            line: e.line,
            message: e.message,
        };
        let mut paras = paragraphs(text);
        let src = match paras.next() {
            Some(p) => p.map_err(syntax)?,
            None => {
                return Err(Error::MissingField {
                    origin: origin.to_string(),
                    line: 1,
                    field: "Source",
                });
            }
        };
        let name = src.get("Source").ok_or(Error::MissingField {
            origin: origin.to_string(),
            line: src.line,
            field: "Source",
        })?;
        let rel = |field: &str| -> Result<Vec<Vec<Relation>>, Error> {
            let Some(f) = src.field(field) else {
                return Ok(Vec::new());
            };
            let (groups, errors) = from_lossless(f.value);
            match errors.into_iter().next() {
                Some(message) => Err(Error::Relation {
                    origin: origin.to_string(),
                    line: f.line,
                    field: field.to_string(),
                    message,
                }),
                None => Ok(groups),
            }
        };
        let mut info = SourceInfo {
            name: name.to_string(),
            version: None,
            architecture: Vec::new(),
            maintainer: src.get("Maintainer").map(str::to_string),
            build_depends: rel("Build-Depends")?,
            build_depends_arch: rel("Build-Depends-Arch")?,
            build_depends_indep: rel("Build-Depends-Indep")?,
            binaries: Vec::new(),
            testsuite_triggers: Vec::new(),
            origin: origin.to_string(),
        };
        for p in paras {
            let p = p.map_err(syntax)?;
            let field = |f: &'static str| {
                p.get(f).ok_or(Error::MissingField {
                    origin: origin.to_string(),
                    line: p.line,
                    field: f,
                })
            };
            let name = field("Package")?;
            let architecture: Vec<String> = field("Architecture")?
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let profiles = match p.field("Build-Profiles") {
                None => Vec::new(),
                Some(f) => parse_profile_formula(f.value).map_err(|message| Error::Relation {
                    origin: origin.to_string(),
                    line: f.line,
                    field: "Build-Profiles".into(),
                    message,
                })?,
            };
            for a in &architecture {
                if !info.architecture.contains(a) {
                    info.architecture.push(a.clone());
                }
            }
            info.binaries.push(BinaryInfo {
                name: name.to_string(),
                architecture,
                profiles,
                package_type: p.get("Package-Type").unwrap_or("deb").to_string(),
            });
        }
        Ok(info)
    }

    /// Builds a `SourceInfo` from one Sources index paragraph; `origin`
    /// names the index in errors. Uses the fast relation parser.
    pub fn from_sources_paragraph(p: &Paragraph<'_>, origin: &str) -> Result<SourceInfo, Error> {
        let field = |f: &'static str| {
            p.get(f).ok_or(Error::MissingField {
                origin: origin.to_string(),
                line: p.line,
                field: f,
            })
        };
        let rel = |f: &str| -> Result<Vec<Vec<Relation>>, Error> {
            match p.field(f) {
                None => Ok(Vec::new()),
                Some(fl) => parse_relations(fl.value).map_err(|message| Error::Relation {
                    origin: origin.to_string(),
                    line: fl.line,
                    field: f.to_string(),
                    message,
                }),
            }
        };
        let name = field("Package")?;
        let architecture: Vec<String> = field("Architecture")?
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let binaries = match p.get("Package-List") {
            Some(list) => list.lines().filter_map(package_list_line).collect(),
            None => p
                .get("Binary")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(|b| BinaryInfo {
                    name: b.to_string(),
                    architecture: architecture.clone(),
                    profiles: Vec::new(),
                    package_type: "deb".into(),
                })
                .collect(),
        };
        Ok(SourceInfo {
            name: name.to_string(),
            version: Some(field("Version")?.to_string()),
            architecture,
            maintainer: p.get("Maintainer").map(str::to_string),
            build_depends: rel("Build-Depends")?,
            build_depends_arch: rel("Build-Depends-Arch")?,
            build_depends_indep: rel("Build-Depends-Indep")?,
            binaries,
            testsuite_triggers: p
                .get("Testsuite-Triggers")
                .map_or_else(Vec::new, package_names),
            origin: format!("{origin}:{}", p.line),
        })
    }
}

/// The package names of a comma-separated list (`Testsuite-Triggers:`),
/// without any version or arch qualifier.
fn package_names(list: &str) -> Vec<String> {
    (list.split(','))
        .filter_map(|item| item.split(['(', ':', '[', '<']).next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// `<!nocheck> <nodoc cross>` → OR of AND-lists.
fn parse_profile_formula(text: &str) -> Result<Vec<Vec<ProfileTerm>>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let body = rest
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .ok_or_else(|| format!("expected `<profile …>`, found `{rest}`"))?;
        out.push(body.0.split_whitespace().map(profile_term).collect());
        rest = body.1.trim_start();
    }
    Ok(out)
}

fn profile_term(t: &str) -> ProfileTerm {
    match t.strip_prefix('!') {
        Some(n) => ProfileTerm {
            negated: true,
            name: n.to_string(),
        },
        None => ProfileTerm {
            negated: false,
            name: t.to_string(),
        },
    }
}

/// One `Package-List` line: `name type section priority arch=a,b profile=!x,y+z`.
/// In `profile=`, `,` joins the terms of one list and `+` separates lists.
fn package_list_line(line: &str) -> Option<BinaryInfo> {
    let mut words = line.split_whitespace();
    let name = words.next()?;
    let package_type = words.next().unwrap_or("deb");
    let mut architecture = vec!["any".to_string()];
    let mut profiles = Vec::new();
    for w in words {
        if let Some(a) = w.strip_prefix("arch=") {
            architecture = a.split(',').map(str::to_string).collect();
        } else if let Some(f) = w.strip_prefix("profile=") {
            profiles = f
                .split('+')
                .map(|list| list.split(',').map(profile_term).collect())
                .collect();
        }
    }
    Some(BinaryInfo {
        name: name.to_string(),
        architecture,
        profiles,
        package_type: package_type.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    const CONTROL: &str = "\
Source: rocfoo
Maintainer: Debian ROCm Team <debian-ai@lists.debian.org>
# a comment
Build-Depends: debhelper-compat (= 13),
               cmake,
               hipcc (>= 5.7) [amd64 arm64 ppc64el],
               libgtest-dev <!nocheck>,
               ${misc:Pre-Depends},
Build-Depends-Indep: doxygen <!nodoc>,
Build-Depends-Arch: librocm-smi-dev [linux-any]

Package: librocfoo1
Architecture: amd64 arm64 ppc64el
Depends: ${shlibs:Depends}, ${misc:Depends}

Package: librocfoo-dev
Architecture: any-amd64
Depends: librocfoo1 (= ${binary:Version})

Package: rocfoo-doc
Architecture: all
Build-Profiles: <!nodoc>

Package: rocfoo-tests
Architecture: amd64
Build-Profiles: <!nocheck> <pkg.rocfoo.tests>
";

    #[test]
    fn control_file_with_substvars() {
        let s = SourceInfo::from_control_str(CONTROL, "debian/control").unwrap();
        assert_eq!(s.name, "rocfoo");
        assert_eq!(
            s.architecture,
            ["amd64", "arm64", "ppc64el", "any-amd64", "all"]
        );
        assert!(s.builds_on(&arch("amd64")));
        assert!(s.builds_on(&arch("ppc64el")));
        assert!(!s.builds_on(&arch("riscv64")));
        assert!(s.builds_indep());
        assert_eq!(
            s.binaries_on(&arch("amd64")),
            ["librocfoo1", "librocfoo-dev", "rocfoo-doc", "rocfoo-tests"]
        );
        assert_eq!(s.binaries_on(&arch("arm64")), ["librocfoo1", "rocfoo-doc"]);
        let p = Profiles::new(["nocheck", "nodoc"]);
        assert_eq!(
            s.binaries_on_with(&arch("amd64"), &p),
            ["librocfoo1", "librocfoo-dev"]
        );
        let p = Profiles::new(["nocheck", "pkg.rocfoo.tests"]);
        assert!(
            s.binaries_on_with(&arch("amd64"), &p)
                .contains(&"rocfoo-tests")
        );

        let names = |d: Vec<Vec<Dep>>| -> Vec<String> {
            d.into_iter().map(|g| g[0].name.clone()).collect()
        };
        let all = s.build_deps(&arch("amd64"), &Profiles::none(), true, true);
        assert_eq!(
            names(all),
            [
                "debhelper-compat",
                "cmake",
                "hipcc",
                "libgtest-dev",
                "librocm-smi-dev",
                "doxygen"
            ]
        );
        let (a, none) = (arch("amd64"), Profiles::none());
        let flat: Vec<&str> = s
            .applicable_deps(&a, &none, true, true)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            flat,
            [
                "debhelper-compat",
                "cmake",
                "hipcc",
                "libgtest-dev",
                "librocm-smi-dev",
                "doxygen"
            ]
        );
        let riscv = s.build_deps(&arch("riscv64"), &Profiles::new(["nocheck"]), true, false);
        assert_eq!(
            names(riscv),
            ["debhelper-compat", "cmake", "librocm-smi-dev"]
        );
    }

    #[test]
    fn control_errors_name_file_and_line() {
        let bad = "Source: x\nBuild-Depends: foo (>= 1.0,\n bar\n";
        let e = SourceInfo::from_control_str(bad, "pkg/debian/control").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("pkg/debian/control:2: field Build-Depends"),
            "{msg}"
        );
        let e = SourceInfo::from_control_str("Source: x\n\nArchitecture: any\n", "c").unwrap_err();
        assert_eq!(e.to_string(), "c:3: missing field Package");
        let e = SourceInfo::from_control_str("Source x\n", "c").unwrap_err();
        assert!(e.to_string().starts_with("c:1: expected `Field: value`"));
        let e = SourceInfo::from_control_file(Path::new("/nonexistent/control")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/control"));
    }

    #[test]
    fn a_dsc_names_the_binaries_its_tests_trigger_on() {
        let dsc = "Format: 3.0 (quilt)\nSource: rocm-smi-lib\nBinary: rocm-smi\n\
                   Architecture: amd64\nVersion: 7.2.4-1\nTestsuite: autopkgtest\n\
                   Testsuite-Triggers: librocm-core1, python3:any (>= 3.11), hipcc [amd64]\n";
        let s = SourceInfo::from_dsc_str(dsc, "x.dsc").unwrap();
        assert_eq!(s.testsuite_triggers, ["librocm-core1", "python3", "hipcc"]);
        // From a checkout: what dpkg-source would write.
        let control = "Source: rocm-smi-lib\n\nPackage: rocm-smi\nArchitecture: amd64\n";
        let tests = "Tests: smi\nDepends: rocm-smi, librocm-core1 (>= 7), @builddeps@\n\n\
                     Test-Command: true\nDepends: python3:any | python3-minimal\n\n\
                     Tests: gpu\nRestrictions: skippable\n";
        let s = SourceInfo::from_control_str(control, "c").unwrap();
        let s = s.with_test_control(tests, "t").unwrap();
        assert_eq!(
            s.testsuite_triggers,
            ["librocm-core1", "python3", "python3-minimal"]
        );
        let bad = SourceInfo::from_control_str(control, "c").unwrap();
        let e = bad.with_test_control("Tests: x\nnot a field\n", "pkg/debian/tests/control");
        assert!(
            e.unwrap_err()
                .to_string()
                .starts_with("pkg/debian/tests/control:2:")
        );
    }

    #[test]
    fn sources_paragraph_with_package_list() {
        let text = "\
Package: rocm-hipamd
Binary: hipcc, libamdhip64-6
Version: 6.4.3-1
Maintainer: Debian ROCm Team <x@y>
Build-Depends: cmake, rocm-cmake <!cross>
Architecture: amd64 arm64 ppc64el all
Package-List:
 hipcc deb devel optional arch=amd64,arm64,ppc64el
 libamdhip64-6 deb libs optional arch=amd64,arm64,ppc64el profile=!stage1,!nocheck+stage2
 hip-doc deb doc optional arch=all
";
        let p = paragraphs(text).next().unwrap().unwrap();
        let s = SourceInfo::from_sources_paragraph(&p, "Sources").unwrap();
        assert_eq!(s.version.as_deref(), Some("6.4.3-1"));
        assert_eq!(s.origin, "Sources:1");
        assert_eq!(s.binaries.len(), 3);
        assert_eq!(s.binaries[1].profiles.len(), 2);
        assert_eq!(
            s.binaries_on(&arch("amd64")),
            ["hipcc", "libamdhip64-6", "hip-doc"]
        );
        assert_eq!(
            s.binaries_on_with(&arch("amd64"), &Profiles::new(["nocheck"])),
            ["hipcc", "hip-doc"]
        );
        assert_eq!(s.binaries_on(&arch("riscv64")), ["hip-doc"]);
        assert!(!s.builds_on(&arch("riscv64")));
        assert!(s.testsuite_triggers.is_empty());
        let cross = s.build_deps(&arch("amd64"), &Profiles::new(["cross"]), true, true);
        assert_eq!(cross.len(), 1);
    }
}
