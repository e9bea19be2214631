//! Relations (`Build-Depends`, `Depends`, …) and their evaluation for one
//! architecture and set of build profiles.
//!
//! Two parsers produce the same [`Relation`] values:
//! - [`from_lossless`] goes through `debian-control`'s relaxed lossless parser,
//!   which tolerates substvars (`${misc:Depends}`); it reads `debian/control`
//!   of a checkout, where exact diagnostics matter more than speed;
//! - [`parse_relations`] is a hand-written single-pass parser for archive
//!   indices, where sid's 40 000 Sources and 77 000 Packages paragraphs would
//!   take seconds through a lossless syntax tree. A unit test checks both
//!   agree on the shapes Debian uses.

use std::collections::BTreeSet;
use std::fmt;

use debian_control::relations::{BuildProfile, VersionConstraint};

use super::wildcard::arch_matches;

/// A version comparison operator of a relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Op {
    #[serde(rename = "<<")]
    Lt,
    #[serde(rename = "<=", alias = "<")]
    Le,
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = ">=", alias = ">")]
    Ge,
    #[serde(rename = ">>")]
    Gt,
}

impl Op {
    /// Parses an operator as written in a relation; `None` for anything else.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<<" => Op::Lt,
            // `<` and `>` are obsolete spellings of `<=` and `>=` (policy 7.1).
            "<=" | "<" => Op::Le,
            "=" => Op::Eq,
            ">=" | ">" => Op::Ge,
            ">>" => Op::Gt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }

    /// Does `ordering` (a version compared with the wanted one) satisfy this
    /// operator?
    pub fn accepts(self, ordering: std::cmp::Ordering) -> bool {
        match self {
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            Op::Eq => ordering.is_eq(),
            Op::Ge => ordering.is_ge(),
            Op::Gt => ordering.is_gt(),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One package a relation names, after architecture restrictions and
/// profiles have been applied: what a consumer has to satisfy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
pub struct Dep {
    pub name: String,
    /// `native`, `any` or an architecture name, from `name:qualifier`.
    #[serde(default)]
    pub archqual: Option<String>,
    #[serde(default)]
    pub version: Option<(Op, String)>,
}

/// JSON leaves out the `None` fields; a binary format (the parsed-index
/// cache, `archive::cache`) has no field names, so it writes every field.
impl serde::Serialize for Dep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let all = !s.is_human_readable();
        let mut st = s.serialize_struct("Dep", 3)?;
        st.serialize_field("name", &self.name)?;
        if all || self.archqual.is_some() {
            st.serialize_field("archqual", &self.archqual)?;
        }
        if all || self.version.is_some() {
            st.serialize_field("version", &self.version)?;
        }
        st.end()
    }
}

impl Dep {
    /// Does a package of version `version` satisfy this dep's version
    /// constraint? Unversioned deps are satisfied by any version; a constraint
    /// or version that does not parse (a substvar) counts as satisfied.
    pub fn satisfied_by_version(&self, version: &str) -> bool {
        let Some((op, want)) = &self.version else {
            return true;
        };
        let (Some(have), Some(want)) = (
            crate::version::parse_ok(version),
            crate::version::parse_ok(want),
        ) else {
            return true;
        };
        op.accepts(have.cmp(&want))
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.archqual {
            write!(f, ":{q}")?;
        }
        if let Some((op, v)) = &self.version {
            write!(f, " ({} {v})", op.as_str())?;
        }
        Ok(())
    }
}

/// One term of an architecture restriction: `amd64`, `!riscv64`, `linux-any`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ArchTerm {
    pub negated: bool,
    pub pattern: String,
}

/// One term of a build-profile restriction list: `nocheck`, `!nocheck`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProfileTerm {
    pub negated: bool,
    pub name: String,
}

/// A relation as written: the dep plus its restrictions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    pub dep: Dep,
    /// `[amd64 arm64]` or `[!riscv64]`; empty when unrestricted.
    pub arches: Vec<ArchTerm>,
    /// `<!nocheck> <nodoc cross>`: an OR of AND-lists; empty when unrestricted.
    pub profiles: Vec<Vec<ProfileTerm>>,
}

impl Relation {
    /// Does this relation apply when building for `arch` with `profiles` active?
    pub fn applies(&self, arch: &str, profiles: &Profiles) -> bool {
        arch_restriction_holds(&self.arches, arch)
            && profile_formula_holds(&self.profiles, profiles)
    }
}

/// dpkg's reading of `[...]`: with positive terms the arch must match one of
/// them; with negated terms it must match none. (Mixing both is invalid in
/// policy; we require both conditions.)
pub fn arch_restriction_holds(terms: &[ArchTerm], arch: &str) -> bool {
    if terms.is_empty() {
        return true;
    }
    let mut any_positive = false;
    let mut positive_match = false;
    for t in terms {
        let m = arch_matches(arch, &t.pattern);
        if t.negated {
            if m {
                return false;
            }
        } else {
            any_positive = true;
            positive_match |= m;
        }
    }
    !any_positive || positive_match
}

/// A restriction formula holds when one of its lists has all terms true.
pub fn profile_formula_holds(formula: &[Vec<ProfileTerm>], active: &Profiles) -> bool {
    formula.is_empty()
        || formula
            .iter()
            .any(|list| list.iter().all(|t| active.is_active(&t.name) != t.negated))
}

/// The set of active build profiles (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profiles(BTreeSet<String>);

impl Profiles {
    pub fn none() -> Profiles {
        Profiles::default()
    }

    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Profiles {
        Profiles(names.into_iter().map(Into::into).collect())
    }

    pub fn is_active(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Applies restrictions: the AND of OR-groups that hold for `arch` and
/// `profiles`. An OR-group whose alternatives all drop out is dropped.
pub fn evaluate(groups: &[Vec<Relation>], arch: &str, profiles: &Profiles) -> Vec<Vec<Dep>> {
    groups
        .iter()
        .filter_map(|group| {
            let deps: Vec<Dep> = group
                .iter()
                .filter(|r| r.applies(arch, profiles))
                .map(|r| r.dep.clone())
                .collect();
            (!deps.is_empty()).then_some(deps)
        })
        .collect()
}

/// Parses a relation field quickly (see the module comment). Substvars and
/// empty entries are skipped. The error names the offending entry.
pub fn parse_relations(text: &str) -> Result<Vec<Vec<Relation>>, String> {
    parse_relations_with(text, |r| r)
}

/// [`parse_relations`], mapping each relation through `f` (the Packages
/// parser keeps only the [`Dep`]: binaries carry no restrictions), with
/// vectors sized exactly — sid's 77 000 binaries make slack add up.
pub fn parse_relations_with<T>(
    text: &str,
    f: impl Fn(Relation) -> T,
) -> Result<Vec<Vec<T>>, String> {
    let mut groups = Vec::with_capacity(text.split(',').count());
    for entry in text.split(',') {
        let mut group = Vec::with_capacity(entry.split('|').count());
        for alt in entry.split('|') {
            let alt = alt.trim();
            if alt.is_empty() || alt.starts_with("${") {
                continue;
            }
            group.push(f(parse_one(alt)?));
        }
        if !group.is_empty() {
            group.shrink_to_fit();
            groups.push(group);
        }
    }
    groups.shrink_to_fit();
    Ok(groups)
}

fn parse_one(s: &str) -> Result<Relation, String> {
    let bad = |why: &str| {
        format!(
            "{why} in `{}`",
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    let stop = |c: char| c.is_whitespace() || matches!(c, ':' | '(' | '[' | '<');
    let end = s.find(stop).unwrap_or(s.len());
    let name = &s[..end];
    if name.is_empty() {
        return Err(bad("missing package name"));
    }
    let mut rel = Relation {
        dep: Dep {
            name: name.to_string(),
            archqual: None,
            version: None,
        },
        arches: Vec::new(),
        profiles: Vec::new(),
    };
    let mut rest = s[end..].trim_start();
    while let Some(c) = rest.chars().next() {
        let close = |open: char, close: char| -> Result<(&str, &str), String> {
            let body_end = rest
                .find(close)
                .ok_or_else(|| bad(&format!("`{open}` without `{close}`")))?;
            Ok((&rest[1..body_end], &rest[body_end + 1..]))
        };
        match c {
            ':' => {
                let after = &rest[1..];
                let e = after.find(stop).unwrap_or(after.len());
                if e == 0 {
                    return Err(bad("empty architecture qualifier"));
                }
                rel.dep.archqual = Some(after[..e].to_string());
                rest = &after[e..];
            }
            '(' => {
                let (body, after) = close('(', ')')?;
                let body = body.trim();
                let op_end = body
                    .find(|c: char| !matches!(c, '<' | '>' | '='))
                    .unwrap_or(body.len());
                let op = Op::parse(&body[..op_end]).ok_or_else(|| bad("bad version operator"))?;
                let version = body[op_end..].trim();
                if version.is_empty() {
                    return Err(bad("missing version"));
                }
                rel.dep.version = Some((op, version.to_string()));
                rest = after;
            }
            '[' => {
                let (body, after) = close('[', ']')?;
                for t in body.split_whitespace() {
                    let (negated, pattern) = match t.strip_prefix('!') {
                        Some(p) => (true, p),
                        None => (false, t),
                    };
                    if pattern.is_empty() {
                        return Err(bad("`!` without an architecture name"));
                    }
                    rel.arches.push(ArchTerm {
                        negated,
                        pattern: pattern.to_string(),
                    });
                }
                rest = after;
            }
            '<' => {
                let (body, after) = close('<', '>')?;
                rel.profiles.push(
                    body.split_whitespace()
                        .map(|t| match t.strip_prefix('!') {
                            Some(n) => ProfileTerm {
                                negated: true,
                                name: n.to_string(),
                            },
                            None => ProfileTerm {
                                negated: false,
                                name: t.to_string(),
                            },
                        })
                        .collect(),
                );
                rest = after;
            }
            _ => return Err(bad("unexpected text after the package name")),
        }
        rest = rest.trim_start();
    }
    Ok(rel)
}

/// Parses a relation field with `debian-control`'s relaxed lossless parser
/// (substvars allowed). Returns the relations and the parser's complaints.
pub fn from_lossless(text: &str) -> (Vec<Vec<Relation>>, Vec<String>) {
    let (parsed, errors) =
        debian_control::lossless::relations::Relations::parse_relaxed(text, true);
    let groups = parsed
        .entries()
        .map(|entry| {
            entry
                .relations()
                .filter_map(|r| {
                    let name = r.try_name()?;
                    let version = match r.try_version() {
                        Some(Ok((vc, v))) => Some((op_of(vc), v.to_string())),
                        _ => None,
                    };
                    let arches = r
                        .architectures()
                        .map(|it| {
                            it.map(|a| match a.strip_prefix('!') {
                                Some(p) => ArchTerm {
                                    negated: true,
                                    pattern: p.to_string(),
                                },
                                None => ArchTerm {
                                    negated: false,
                                    pattern: a,
                                },
                            })
                            .collect()
                        })
                        .unwrap_or_default();
                    let profiles = r
                        .profiles()
                        .map(|list| {
                            list.into_iter()
                                .map(|p| match p {
                                    BuildProfile::Enabled(name) => ProfileTerm {
                                        negated: false,
                                        name,
                                    },
                                    BuildProfile::Disabled(name) => ProfileTerm {
                                        negated: true,
                                        name,
                                    },
                                })
                                .collect()
                        })
                        .collect();
                    Some(Relation {
                        dep: Dep {
                            name,
                            archqual: r.archqual(),
                            version,
                        },
                        arches,
                        profiles,
                    })
                })
                .collect::<Vec<_>>()
        })
        .filter(|g: &Vec<Relation>| !g.is_empty())
        .collect();
    (groups, errors)
}

fn op_of(vc: VersionConstraint) -> Op {
    match vc {
        VersionConstraint::LessThan => Op::Lt,
        VersionConstraint::LessThanEqual => Op::Le,
        VersionConstraint::Equal => Op::Eq,
        VersionConstraint::GreaterThanEqual => Op::Ge,
        VersionConstraint::GreaterThan => Op::Gt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "debhelper-compat (= 13), cmake (>= 3.22) <!nocheck>,\n \
        rocm-cmake [amd64 arm64], libfoo-dev [!riscv64 !s390x] | libbar-dev,\n \
        python3:native, python3-dev:any (>= 3.11~), hipcc [linux-any] <!nocheck> <cross>,\n \
        libgtest-dev <!nocheck !nodoc>, ${misc:Depends}, pkgconf:amd64 [any-amd64],";

    fn names(deps: &[Vec<Dep>]) -> Vec<Vec<&str>> {
        deps.iter()
            .map(|g| g.iter().map(|d| d.name.as_str()).collect())
            .collect()
    }

    #[test]
    fn fast_and_lossless_parsers_agree() {
        let fast = parse_relations(SAMPLE).unwrap();
        let (lossless, errors) = from_lossless(SAMPLE);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fast, lossless);
        assert_eq!(fast.len(), 9);
    }

    #[test]
    fn restrictions_for_one_arch() {
        let rels = parse_relations(SAMPLE).unwrap();
        let amd64 = evaluate(&rels, "amd64", &Profiles::none());
        assert_eq!(
            names(&amd64),
            vec![
                vec!["debhelper-compat"],
                vec!["cmake"],
                vec!["rocm-cmake"],
                vec!["libfoo-dev", "libbar-dev"],
                vec!["python3"],
                vec!["python3-dev"],
                vec!["hipcc"],
                vec!["libgtest-dev"],
                vec!["pkgconf"],
            ]
        );
        let riscv = evaluate(&rels, "riscv64", &Profiles::none());
        // rocm-cmake dropped; libfoo-dev leaves its alternative; pkgconf's group vanishes.
        assert_eq!(names(&riscv)[2], vec!["libbar-dev"]);
        assert_eq!(riscv.len(), 7);
        assert!(!names(&riscv).iter().flatten().any(|n| *n == "pkgconf"));
    }

    #[test]
    fn profiles_are_or_of_and_lists() {
        let rels = parse_relations(SAMPLE).unwrap();
        let nocheck = evaluate(&rels, "amd64", &Profiles::new(["nocheck"]));
        let flat: Vec<&str> = nocheck.iter().flatten().map(|d| d.name.as_str()).collect();
        assert!(!flat.contains(&"cmake"));
        assert!(!flat.contains(&"libgtest-dev"));
        // `<!nocheck> <cross>`: cross alone revives it.
        assert!(!flat.contains(&"hipcc"));
        let cross = evaluate(&rels, "amd64", &Profiles::new(["nocheck", "cross"]));
        assert!(cross.iter().flatten().any(|d| d.name == "hipcc"));
        let nodoc = evaluate(&rels, "amd64", &Profiles::new(["nodoc"]));
        assert!(!nodoc.iter().flatten().any(|d| d.name == "libgtest-dev"));
        assert!(nodoc.iter().flatten().any(|d| d.name == "cmake"));
    }

    #[test]
    fn qualifiers_and_versions() {
        let rels = parse_relations(SAMPLE).unwrap();
        let d = &rels[4][0].dep;
        assert_eq!(d.archqual.as_deref(), Some("native"));
        let d = &rels[5][0].dep;
        assert_eq!(d.archqual.as_deref(), Some("any"));
        assert_eq!(d.version, Some((Op::Ge, "3.11~".into())));
        assert!(d.satisfied_by_version("3.11"));
        assert!(d.satisfied_by_version("3.11~rc1"));
        assert!(!d.satisfied_by_version("3.10"));
        assert_eq!(d.to_string(), "python3-dev:any (>= 3.11~)");
        let eq = &rels[0][0].dep;
        assert!(eq.satisfied_by_version("13"));
        assert!(!eq.satisfied_by_version("12"));
        assert!(
            !parse_relations("a (<< 2)").unwrap()[0][0]
                .dep
                .satisfied_by_version("1:0")
        );
    }

    #[test]
    fn substvars_do_not_panic() {
        let text = "${misc:Depends}, ${shlibs:Depends}, foo (= ${binary:Version}), bar (>= ${source:Version}) | baz";
        let (groups, _errors) = from_lossless(text);
        assert!(groups.iter().flatten().any(|r| r.dep.name == "foo"));
        let fast = parse_relations(text).unwrap();
        assert_eq!(fast.len(), 2);
        assert!(fast[0][0].dep.satisfied_by_version("1.0"));
    }

    #[test]
    fn malformed_relations_are_errors() {
        assert!(
            parse_relations("foo (>= 1")
                .unwrap_err()
                .contains("foo (>= 1")
        );
        assert!(parse_relations("foo [amd64").is_err());
        assert!(parse_relations("foo (~ 1)").is_err());
        assert!(parse_relations("foo bar").is_err());
    }

    /// `[!]` names no architecture: both parsers refuse it (issue 17.9).
    #[test]
    fn a_bare_negation_is_refused() {
        let e = parse_relations("foo [!], bar").unwrap_err();
        assert!(e.contains("`!` without an architecture name"), "{e}");
        let (_, errors) = from_lossless("foo [!], bar");
        assert!(!errors.is_empty(), "lossless parser accepted `[!]`");
        assert!(from_lossless("foo [!riscv64], bar").1.is_empty());
    }
}
