//! Installability and buildability, as dose-builddebcheck decides them.
//!
//! Hand-written because the reference, dose3, is OCaml with no Rust
//! binding or crate, and general SAT crates would need the whole archive
//! encoded as clauses per query. Debian's dependency graphs are easy in
//! practice, so two stages suffice:
//!
//! 1. A greatest fixpoint ignoring conflicts: a package is *viable* when
//!    each of its clauses has a viable candidate. A non-viable package can
//!    never be installed (conflicts only remove options), and a source with
//!    a build-dependency without viable candidates is unbuildable. This
//!    decides almost every unbuildable source in linear time.
//! 2. For the rest, a complete backtracking search over alternatives with
//!    conflicts (Conflicts, Breaks, Build-Conflicts, one version per name),
//!    always together with the Essential packages, as dose does by default.
//!    It has a step budget; a source that exhausts it is reported as
//!    undecided rather than guessed.

use serde::Serialize;

use super::universe::{SourceRec, Universe};
use crate::control::{Dep, Profiles};

/// Why a set of relations can't be installed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    /// A relation of the root has no candidate at all on this arch.
    Missing { relation: String },
    /// Its candidates exist but none is installable (their own
    /// dependencies fail, transitively); `via` names the first such
    /// candidate's failing clause.
    Uninstallable { relation: String, via: Vec<String> },
    /// Every way to satisfy it runs into a conflict.
    Conflict { relation: String },
    /// The search budget ran out (not seen on sid).
    Undecided { relation: String },
}

impl Failure {
    pub fn relation(&self) -> &str {
        match self {
            Failure::Missing { relation }
            | Failure::Uninstallable { relation, .. }
            | Failure::Conflict { relation }
            | Failure::Undecided { relation } => relation,
        }
    }
}

/// The conflict-free fixpoint: `viable[p]` for every package.
pub fn viable(u: &Universe) -> Vec<bool> {
    let n = u.pkgs.len();
    let clauses = u.clause_count();
    let mut owner = vec![0u32; clauses];
    for p in 0..n as u32 {
        for k in u.deps_of(p) {
            owner[k as usize] = p;
        }
    }
    // Reverse index, CSR: candidate → clauses it appears in.
    let mut start = vec![0u32; n + 1];
    for k in 0..clauses as u32 {
        for &c in u.clause(k) {
            start[c as usize + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut rev = vec![0u32; start[n] as usize];
    let mut live = vec![0u32; clauses];
    for k in 0..clauses as u32 {
        live[k as usize] = u.clause(k).len() as u32;
        for &c in u.clause(k) {
            rev[fill[c as usize] as usize] = k;
            fill[c as usize] += 1;
        }
    }
    let mut ok = vec![true; n];
    let mut work: Vec<u32> = (0..clauses as u32)
        .filter(|&k| live[k as usize] == 0)
        .map(|k| owner[k as usize])
        .collect();
    while let Some(p) = work.pop() {
        if !std::mem::replace(&mut ok[p as usize], false) {
            continue;
        }
        for &k in &rev[start[p as usize] as usize..start[p as usize + 1] as usize] {
            live[k as usize] -= 1;
            if live[k as usize] == 0 && ok[owner[k as usize] as usize] {
                work.push(owner[k as usize]);
            }
        }
    }
    ok
}

/// The candidates of an agenda item (borrowing the universe or the query,
/// not the solver, so the solver can change while they are read).
fn cands<'a>(u: &'a Universe, q: &'a Query, item: Item) -> &'a [u32] {
    match item {
        Item::Root(i) => &q.groups[i as usize],
        Item::Pkg(k) => u.clause(k),
        Item::Essential(i) => std::slice::from_ref(&u.essential()[i as usize]),
    }
}

/// A clause the search must satisfy: a root's (index into the roots) or a
/// package's (a universe clause).
#[derive(Clone, Copy, Debug)]
enum Item {
    Root(u32),
    Pkg(u32),
    Essential(u32),
}

struct Choice {
    pos: usize,
    agenda_len: usize,
    trail_len: usize,
    next: usize,
}

/// Reusable search state over one universe (allocated once, reset by undo).
pub struct Solver<'u> {
    u: &'u Universe,
    viable: &'u [bool],
    installed: Vec<bool>,
    blocked: Vec<u32>,
    trail: Vec<u32>,
    agenda: Vec<Item>,
    choices: Vec<Choice>,
    pub budget: u64,
}

/// The root of one query: OR-groups as candidate lists, with the
/// relations they come from, and packages that must not be installed
/// (Build-Conflicts).
#[derive(Debug, Default)]
pub struct Query {
    pub groups: Vec<Vec<u32>>,
    /// Group i as written, [`Query::text`] on demand: only a failure
    /// needs it, and formatting every group of every source was a sixth
    /// of `frontier --all`'s solving.
    pub deps: Vec<Vec<Dep>>,
    pub forbidden: Vec<u32>,
}

impl Query {
    /// The OR-groups a build of `src` needs: build-essential (policy 4.2,
    /// and dose adds it too), then its build relations for the arch.
    pub fn relations(
        u: &Universe,
        src: &SourceRec,
        profiles: &Profiles,
        indep: bool,
    ) -> Vec<Vec<Dep>> {
        let mut groups = vec![vec![Dep {
            name: "build-essential".into(),
            archqual: None,
            version: None,
        }]];
        groups.extend(src.build_deps(&u.arch, profiles, indep));
        groups
    }

    /// The build relations of `src` for the universe's arch.
    pub fn for_source(u: &Universe, src: &SourceRec, profiles: &Profiles, indep: bool) -> Query {
        let mut q = Query {
            deps: Query::relations(u, src, profiles, indep),
            ..Query::default()
        };
        for group in &q.deps {
            let mut c = Vec::new();
            for d in group {
                u.dep_candidates_ro(d, &mut c);
            }
            c.dedup();
            q.groups.push(c);
        }
        for d in src.build_conflicts(&u.arch, profiles, indep) {
            u.dep_candidates_ro(&d, &mut q.forbidden);
        }
        q
    }

    /// Group `i` as written: `a (>= 1) | b`.
    pub fn text(&self, i: usize) -> String {
        self.deps[i]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl<'u> Solver<'u> {
    pub fn new(u: &'u Universe, viable: &'u [bool]) -> Solver<'u> {
        let n = u.pkgs.len();
        Solver {
            u,
            viable,
            installed: vec![false; n],
            blocked: vec![0; n],
            trail: Vec::new(),
            agenda: Vec::new(),
            choices: Vec::new(),
            budget: 200_000,
        }
    }

    /// Can `q` be installed, with the Essential packages?
    pub fn check(&mut self, q: &Query) -> Result<(), Failure> {
        if let Some(f) = self.quick_failure(q) {
            return Err(f);
        }
        for &f in &q.forbidden {
            self.blocked[f as usize] += 1;
        }
        let r = self.search(q);
        self.undo_to(0);
        for &f in &q.forbidden {
            self.blocked[f as usize] -= 1;
        }
        r
    }

    /// Stage 1: a root group without viable candidates.
    fn quick_failure(&self, q: &Query) -> Option<Failure> {
        for (i, group) in q.groups.iter().enumerate() {
            if group.is_empty() {
                return Some(Failure::Missing {
                    relation: q.text(i),
                });
            }
            if !group.iter().any(|&c| self.viable[c as usize]) {
                return Some(Failure::Uninstallable {
                    relation: q.text(i),
                    via: self.why_not_viable(group[0]),
                });
            }
        }
        None
    }

    /// The chain of first failing clauses from a non-viable package down to
    /// a clause with no candidate at all (or a repeat).
    pub fn why_not_viable(&self, mut p: u32) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        while !self.viable[p as usize] && !seen.contains(&p) && out.len() < 16 {
            seen.push(p);
            let Some(k) = self
                .u
                .deps_of(p)
                .find(|&k| !self.u.clause(k).iter().any(|&c| self.viable[c as usize]))
            else {
                break;
            };
            out.push(format!(
                "{} {} depends on {}",
                self.u.pkg_name(p),
                self.u.version(p),
                self.u.clause_text(k)
            ));
            match self.u.clause(k).first() {
                Some(&c) => p = c,
                None => break,
            }
        }
        out
    }

    fn search(&mut self, q: &Query) -> Result<(), Failure> {
        let u = self.u;
        self.agenda.clear();
        self.choices.clear();
        // The Essential packages first (dose: every installation has them),
        // so a conflict with one is blamed on the root relation that hits it.
        self.agenda
            .extend((0..u.essential().len() as u32).map(Item::Essential));
        self.agenda
            .extend((0..q.groups.len() as u32).map(Item::Root));
        let mut pos = 0usize;
        let mut steps = 0u64;
        let mut first_fail: Option<Item> = None;
        loop {
            if pos == self.agenda.len() {
                return Ok(());
            }
            let item = self.agenda[pos];
            if cands(u, q, item)
                .iter()
                .any(|&c| self.installed[c as usize])
            {
                pos += 1;
                continue;
            }
            self.choices.push(Choice {
                pos,
                agenda_len: self.agenda.len(),
                trail_len: self.trail.len(),
                next: 0,
            });
            match self.advance(q, &mut steps, &mut first_fail) {
                Some(p) => pos = p,
                None => {
                    let relation = self.describe(q, first_fail.unwrap_or(item));
                    return Err(if steps > self.budget {
                        Failure::Undecided { relation }
                    } else {
                        Failure::Conflict { relation }
                    });
                }
            }
        }
    }

    /// Takes the next untried candidate of the innermost choice, undoing to
    /// it first; pops exhausted choices (the first one exhausted is kept in
    /// `first_fail` for the message). Returns the agenda position to go on.
    fn advance(
        &mut self,
        q: &Query,
        steps: &mut u64,
        first_fail: &mut Option<Item>,
    ) -> Option<usize> {
        let u = self.u;
        loop {
            let ch = self.choices.last()?;
            let (pos, agenda_len, trail_len, next) = (ch.pos, ch.agenda_len, ch.trail_len, ch.next);
            self.undo_to(trail_len);
            self.agenda.truncate(agenda_len);
            let item = self.agenda[pos];
            let cs = cands(u, q, item);
            let found = (next..cs.len()).find(|&i| self.can_install(cs[i]));
            *steps += 1;
            match found {
                Some(i) if *steps <= self.budget => {
                    if let Some(ch) = self.choices.last_mut() {
                        ch.next = i + 1;
                    }
                    self.install(cs[i]);
                    return Some(pos + 1);
                }
                _ => {
                    first_fail.get_or_insert(item);
                    self.choices.pop();
                    if self.choices.is_empty() || *steps > self.budget {
                        self.choices.clear();
                        return None;
                    }
                }
            }
        }
    }

    fn describe(&self, q: &Query, item: Item) -> String {
        match item {
            Item::Root(i) => q.text(i as usize),
            Item::Pkg(k) => self.u.clause_text(k),
            Item::Essential(i) => format!(
                "essential package {}",
                self.u.pkg_name(self.u.essential()[i as usize])
            ),
        }
    }

    fn can_install(&self, c: u32) -> bool {
        self.viable[c as usize]
            && self.blocked[c as usize] == 0
            && !self
                .u
                .conflicts_of(c)
                .iter()
                .any(|&t| self.installed[t as usize])
    }

    fn install(&mut self, c: u32) {
        self.installed[c as usize] = true;
        self.trail.push(c);
        for &t in self.u.conflicts_of(c) {
            self.blocked[t as usize] += 1;
        }
        self.agenda.extend(self.u.deps_of(c).map(Item::Pkg));
    }

    fn undo_to(&mut self, len: usize) {
        while self.trail.len() > len {
            let Some(c) = self.trail.pop() else { break };
            self.installed[c as usize] = false;
            for &t in self.u.conflicts_of(c) {
                self.blocked[t as usize] -= 1;
            }
        }
    }
}

/// The answer for one source on one arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Buildability {
    pub source: String,
    pub version: String,
    /// `None` when buildable.
    pub failure: Option<Failure>,
}

/// Every source of `sources` that builds on the universe's arch (its
/// Architecture field names it, or `all`), checked for buildability.
/// Each check starts from a clean solver, so the sources are split in
/// contiguous runs checked on one thread per core, in order.
pub fn buildability<'s>(
    u: &Universe,
    viable: &[bool],
    sources: impl IntoIterator<Item = &'s SourceRec>,
    profiles: &Profiles,
    indep: bool,
) -> Vec<Buildability> {
    let arch = crate::arch::Arch::new(&u.arch);
    let todo: Vec<&SourceRec> = sources
        .into_iter()
        .filter(|s| match &arch {
            Some(a) => s.info.builds_on(a) || s.info.builds_indep(),
            None => true,
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = todo.len().div_ceil(threads).max(1);
    let check_run = |run: &[&SourceRec]| -> Vec<Buildability> {
        let mut solver = Solver::new(u, viable);
        run.iter()
            .map(|s| {
                let q = Query::for_source(u, s, profiles, indep);
                Buildability {
                    source: s.info.name.clone(),
                    version: s.info.version.clone().unwrap_or_default(),
                    failure: solver.check(&q).err(),
                }
            })
            .collect()
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = todo
            .chunks(run)
            .map(|r| s.spawn(move || check_run(r)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The first clause of a non-viable package `p` without a viable candidate.
pub fn failing_clause(u: &Universe, viable: &[bool], p: u32) -> Option<u32> {
    u.deps_of(p)
        .find(|&k| !u.clause(k).iter().any(|&c| viable[c as usize]))
}
