//! Installability after the move, by dose-debcheck (Debian's dose-extra):
//! the base suite's Packages with the moving sources' old binaries taken
//! out and the new ones put in. The packages to check go in dose's
//! foreground, everything else in its background.
//!
//! Pure: [`split`] (which paragraph goes where) and [`parse_report`]
//! (dose's YAML → reasons). The effect: [`check`] writes the two files to a
//! temporary directory and runs dose-debcheck.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::control::deb822::{self, Paragraph};
use crate::fsio::IoError;
use crate::process::Cmd;

/// dose-debcheck could not answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("dose-debcheck for {arch}: {message} (install dose-extra)")]
    Dose { arch: String, message: String },
}

/// What dose-debcheck said for one arch.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Installability {
    /// Packages checked (new binaries and outside binaries depending on the stack).
    pub checked: usize,
    pub broken: Vec<Broken>,
    /// New binaries of the stack with no paragraph to check on this arch
    /// (not built in the target suite there yet).
    pub not_in_new: Vec<String>,
}

/// One uninstallable package and dose's reason, in one line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Broken {
    pub package: String,
    pub version: String,
    pub reason: String,
}

/// The two Packages texts dose reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    pub foreground: String,
    pub background: String,
    pub checked: usize,
}

/// A paragraph's `Package` and source name (`Source:` without its version).
fn names(para: &str) -> (Option<&str>, Option<&str>) {
    let field = |f: &str| {
        para.lines()
            .find_map(|l| l.strip_prefix(f))
            .map(|v| v.trim().split(' ').next().unwrap_or(""))
    };
    let package = field("Package:");
    (package, field("Source:").or(package))
}

/// Paragraphs of a Packages text. Archive indices are written by dak and
/// apt-ftparchive with exactly one blank line between paragraphs, which is
/// all this needs (the fields are read by [`crate::archive`]'s parser).
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").filter(|p| !p.trim().is_empty())
}

/// Base paragraphs of a moving source leave; `new` comes in; a paragraph
/// goes to the foreground when its package is in `check`.
pub fn split(base: &str, new: &str, moving: &BTreeSet<&str>, check: &BTreeSet<&str>) -> Split {
    let mut out = Split::default();
    let kept = paragraphs(base).filter(|p| !names(p).1.is_some_and(|s| moving.contains(s)));
    for p in kept.chain(paragraphs(new)) {
        let to = if names(p).0.is_some_and(|n| check.contains(n)) {
            out.checked += 1;
            &mut out.foreground
        } else {
            &mut out.background
        };
        to.push_str(p.trim_end_matches('\n'));
        to.push_str("\n\n");
    }
    out
}

/// `split` with only the background paragraphs its foreground reaches
/// through Depends and Pre-Depends (every alternative, by real or provided
/// name, every version). An installation of a checked package holds
/// nothing else — the Essential set is left out ([`check`]) — so dose's
/// answer is the same, and it reads a few hundred paragraphs instead of
/// all of sid's (most of its time). Conflicts and Breaks need not be
/// followed: a package no dependency reaches is never installed. Should a
/// paragraph or a relation field read here not parse, `split` is returned
/// whole.
pub fn reachable(split: Split) -> Split {
    match reached_background(&split) {
        Some(background) => Split {
            background,
            ..split
        },
        None => split,
    }
}

/// The background paragraphs [`reachable`] keeps, in their order.
fn reached_background(split: &Split) -> Option<String> {
    let background: Vec<&str> = paragraphs(&split.background).collect();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    // One field vector for all of sid's paragraphs.
    let mut para = Paragraph::default();
    for (i, text) in background.iter().enumerate() {
        deb822::paragraphs(text).next_into(&mut para)?.ok()?;
        let package = para.get("Package").map(str::to_string);
        for name in package
            .into_iter()
            .chain(relation_names(&para, &["Provides"])?)
        {
            by_name.entry(name).or_default().push(i);
        }
    }
    let mut reached = vec![false; background.len()];
    let mut todo: Vec<&str> = paragraphs(&split.foreground).collect();
    while let Some(text) = todo.pop() {
        let para = deb822::paragraphs(text).next()?.ok()?;
        for name in relation_names(&para, &["Depends", "Pre-Depends"])? {
            for &i in by_name.get(&name).into_iter().flatten() {
                if !std::mem::replace(&mut reached[i], true) {
                    todo.push(background[i]);
                }
            }
        }
    }
    let mut out = String::new();
    for (p, _) in background.iter().zip(&reached).filter(|(_, r)| **r) {
        out.push_str(p.trim_end_matches('\n'));
        out.push_str("\n\n");
    }
    Some(out)
}

/// The package names `para`'s `fields` name (relation fields); `None`
/// when one of them does not parse.
fn relation_names(para: &Paragraph<'_>, fields: &[&str]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for text in fields.iter().filter_map(|f| para.get(f)) {
        let relations = crate::control::parse_relations(text).ok()?;
        out.extend(relations.into_iter().flatten().map(|r| r.dep.name));
    }
    Some(out)
}

/// The paragraphs of `text` built from one of `sources`.
pub fn only_sources(text: &str, sources: &BTreeSet<&str>) -> String {
    let mut out = String::new();
    for p in paragraphs(text).filter(|p| names(p).1.is_some_and(|s| sources.contains(s))) {
        out.push_str(p.trim_end_matches('\n'));
        out.push_str("\n\n");
    }
    out
}

/// dose-debcheck's `--failures --explain` YAML → one line per broken package.
pub fn parse_report(yaml: &str) -> Result<Vec<Broken>, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
    let s = |v: &serde_yaml::Value, k: &str| match &v[k] {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    for r in doc["report"].as_sequence().into_iter().flatten() {
        let reasons: Vec<String> = r["reasons"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|why| {
                if let Some(m) = why.get("missing") {
                    let p = &m["pkg"];
                    format!(
                        "{} {} needs {}",
                        s(p, "package"),
                        s(p, "version"),
                        s(p, "unsat-dependency")
                    )
                } else if let Some(c) = why.get("conflict") {
                    let (a, b) = (&c["pkg1"], &c["pkg2"]);
                    format!(
                        "{} {} conflicts with {} {}",
                        s(a, "package"),
                        s(a, "version"),
                        s(b, "package"),
                        s(b, "version")
                    )
                } else {
                    "unexplained".to_string()
                }
            })
            .collect();
        out.push(Broken {
            package: s(r, "package"),
            version: s(r, "version"),
            reason: reasons.join("; "),
        });
    }
    Ok(out)
}

/// Runs dose-debcheck for `arch` on `split` (files in `tmp`).
pub fn check(arch: &str, split: &Split, tmp: &Path) -> Result<Vec<Broken>, Error> {
    let fg = tmp.join(format!("check-{arch}.Packages"));
    let bg = tmp.join(format!("rest-{arch}.Packages"));
    std::fs::write(&fg, &split.foreground).map_err(|e| IoError::new(&fg, e))?;
    std::fs::write(&bg, &split.background).map_err(|e| IoError::new(&bg, e))?;
    let cmd = Cmd::new("dose-debcheck")
        .arg(format!("--deb-native-arch={arch}"))
        // The Essential set is on every system and the stack is not part of
        // it: leaving it out keeps an incomplete archive (a test fixture)
        // from failing every package on essentials it lacks.
        .args(["--deb-ignore-essential", "--explain", "--failures", "--fg"])
        .arg(&fg)
        .arg("--bg")
        .arg(&bg);
    let dose = |message: String| Error::Dose {
        arch: arch.to_string(),
        message,
    };
    let out = cmd
        .to_std()
        .output()
        .map_err(|e| dose(format!("cannot run `{cmd}`: {e}")))?;
    // dose-debcheck exits 1 when something is broken, 0 when nothing is.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(dose(format!(
            "`{cmd}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse_report(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| dose(format!("its report does not parse: {e}")))
}
