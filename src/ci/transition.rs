//! The transition's child pipeline (`cascade ci generate --transition
//! REPORT`): one job per rebuild candidate × arch of an analysis report
//! (`cascade transition RUNDIR --format json`), then a report job.
//!
//! Pure, like the rest of [`crate::ci`]. Choices, and why:
//! - **One job per candidate × arch**, each running `cascade transition
//!   cascade-run --rebuild --arch A --include '^SOURCE$'`: a rebuild and its
//!   recheck fail or pass on their own, can be retried on their own, and
//!   GitLab spreads them over the runners. The job fails on a regression
//!   (cascade's exit code), so the pipeline shows it.
//! - **The run's .debs come from the parent pipeline**: each job needs the
//!   parent's build job of its arch (and of the host arch, which built the
//!   arch:all .debs) through `needs: pipeline: $PARENT_PIPELINE_ID`.
//! - **Each job writes its own report** (`cascade-transition/rebuild_SOURCE_ARCH.json`,
//!   paths no other job writes, as GitLab unpacks every needed job's
//!   artifacts into one directory); the report job lays them over the
//!   analysis with `cascade transition --merge` and writes every format.
//! - **The report job needs every rebuild job**, so a pipeline holds at
//!   most [`MAX_REBUILDS`] of them (GitLab's 50 `needs`, one kept for the
//!   analysis); `--max-rebuilds` caps it lower, as the Salsa template does.

use std::collections::BTreeMap;
use std::ffi::OsStr;

use super::{
    Artifacts, Defaults, Error, Job, Kind, MAX_NEEDS, Need, Options, Pipeline, REPORT_DIR, RUN_DIR,
    Reports, tags_for,
};
use crate::process::shell_quote;
use crate::recipe::Recipes;
use crate::rundir::JUNIT_XML;
use crate::transition::render::Transition;

/// The most rebuild jobs one pipeline holds: the report job needs each, and
/// the analysis job of the parent pipeline.
pub const MAX_REBUILDS: usize = MAX_NEEDS - 1;

/// Where the rebuild jobs and the report job keep transition reports.
pub const TRANSITION_DIR: &str = "cascade-transition";

/// What the transition pipeline needs besides the analysis.
#[derive(Clone, Debug)]
pub struct TransitionOptions {
    /// The parent pipeline's job building ARCH is PREFIX+ARCH.
    pub parent_job_prefix: String,
    /// The parent pipeline's job whose artifacts hold the analysis report.
    pub analysis_job: String,
    /// The analysis report's path in those artifacts.
    pub analysis: String,
    /// The arch whose build job also built the arch:all .debs.
    pub host_arch: String,
    /// Words added to each rebuild's `cascade transition` (e.g.
    /// `--extra-archive URL`, `--timeout 120`).
    pub job_args: Vec<String>,
    /// At most this many rebuild jobs (besides [`MAX_REBUILDS`]).
    pub max: Option<usize>,
}

/// The name of the job rebuilding `source` on `arch`.
pub fn rebuild_job_name(source: &str, arch: &str) -> String {
    format!("transition:{source}:{arch}")
}

/// The child pipeline rebuilding `doc`'s candidates.
pub fn generate(
    doc: &Transition,
    recipes: &Recipes,
    options: &Options,
    t: &TransitionOptions,
) -> Result<Pipeline, Error> {
    let cells: Vec<(&str, &str)> = doc
        .arches
        .iter()
        .flat_map(|a| {
            let arch = a.transition.arch.as_str();
            a.transition
                .rebuilds
                .iter()
                .map(move |c| (c.source.as_str(), arch))
        })
        .collect();
    check_cap(&cells, t.max)?;
    // The job's own analysis must find its source among the candidates:
    // one found through the installation closure needs `--transitive` too.
    let transitive = |arch: &str| {
        doc.arches.iter().any(|a| {
            a.transition.arch.as_str() == arch && a.transition.rebuilds_transitive.is_some()
        })
    };
    let mut jobs: Vec<(String, Job)> = cells
        .iter()
        .map(|(source, arch)| {
            let job = rebuild_job(source, arch, transitive(arch), recipes, options, t);
            (rebuild_job_name(source, arch), job)
        })
        .collect();
    let report = report_job(&jobs, recipes, options, t);
    jobs.push(("transition:report".into(), report));
    let mut variables = BTreeMap::new();
    if let Some(dir) = &options.recipes_dir {
        variables.insert("CASCADE_RECIPES".to_string(), dir.clone());
    }
    Ok(Pipeline {
        header: header(doc, cells.len()),
        variables,
        default: Defaults {
            image: options.image.clone(),
            before_script: options.before_script.clone(),
        },
        jobs,
        not_built: Vec::new(),
    })
}

/// More cells than `max` (or [`MAX_REBUILDS`]) is an error naming them.
fn check_cap(cells: &[(&str, &str)], max: Option<usize>) -> Result<(), Error> {
    let cap = max.unwrap_or(MAX_REBUILDS).min(MAX_REBUILDS);
    if cells.len() <= cap {
        return Ok(());
    }
    let names: Vec<String> = cells.iter().map(|(s, a)| format!("{s}/{a}")).collect();
    Err(Error::TooManyRebuilds {
        count: cells.len(),
        cap,
        cells: names.join(", "),
    })
}

fn rebuild_job(
    source: &str,
    arch: &str,
    transitive: bool,
    recipes: &Recipes,
    options: &Options,
    t: &TransitionOptions,
) -> Job {
    let mut needs = vec![Need::parent(&format!("{}{arch}", t.parent_job_prefix))];
    if arch != t.host_arch {
        needs.push(Need::parent(&format!(
            "{}{}",
            t.parent_job_prefix, t.host_arch
        )));
    }
    let out = format!("{TRANSITION_DIR}/rebuild_{source}_{arch}.json");
    let include = format!("^{}$", regex::escape(source));
    let mut line = format!(
        "cascade transition {RUN_DIR} --rebuild --arch {arch} --include {} --no-installability --format json --out {out}",
        shell_quote(OsStr::new(&include))
    );
    if transitive {
        line.push_str(" --transitive");
    }
    for word in &t.job_args {
        line.push(' ');
        line.push_str(&shell_quote(OsStr::new(word)));
    }
    Job {
        kind: Kind::Rebuild {
            source: source.to_string(),
            arch: arch.to_string(),
        },
        stage: "build".into(),
        tags: tags_for(recipes, arch, &t.host_arch),
        needs,
        when: None,
        timeout: None,
        variables: BTreeMap::new(),
        before_script: None,
        script: vec![format!("mkdir -p {TRANSITION_DIR}"), line],
        artifacts: Some(Artifacts {
            name: Some(format!("transition_{source}_{arch}")),
            when: "always".into(),
            expire_in: options.expire_in.clone(),
            paths: vec![out, format!("{RUN_DIR}/transition/*/logs/")],
            reports: None,
        }),
        cache: None,
    }
}

/// The report job: every rebuild's report laid over the analysis, in
/// every format; it fails, after writing them, as `cascade transition` does.
fn report_job(
    rebuilds: &[(String, Job)],
    recipes: &Recipes,
    options: &Options,
    t: &TransitionOptions,
) -> Job {
    let mut needs = vec![Need::parent(&t.analysis_job)];
    needs.extend(rebuilds.iter().map(|(name, _)| Need::job(name)));
    let mut script = vec![format!("mkdir -p {REPORT_DIR}"), "status=0".into()];
    let inputs = format!("{} {TRANSITION_DIR}/", shell_quote(OsStr::new(&t.analysis)));
    for (format, file) in [
        ("junit", JUNIT_XML),
        ("html", "transition.html"),
        ("markdown", "transition.md"),
        ("json", "transition.json"),
    ] {
        script.push(format!(
            "cascade transition --merge {inputs} --format {format} --out {REPORT_DIR}/{file} || status=$?"
        ));
    }
    script.push(format!("cat {REPORT_DIR}/transition.md || true"));
    script.push("exit $status".into());
    Job {
        kind: Kind::Report,
        stage: "report".into(),
        tags: tags_for(recipes, &t.host_arch, &t.host_arch),
        needs,
        when: Some("always".into()),
        timeout: None,
        variables: BTreeMap::new(),
        before_script: None,
        script,
        artifacts: Some(Artifacts {
            name: Some("cascade-transition-report".into()),
            when: "always".into(),
            expire_in: options.expire_in.clone(),
            paths: vec![format!("{REPORT_DIR}/")],
            reports: Some(Reports {
                junit: vec![format!("{REPORT_DIR}/{JUNIT_XML}")],
            }),
        }),
        cache: None,
    }
}

fn header(doc: &Transition, jobs: usize) -> Vec<String> {
    let arches: Vec<&str> = doc
        .arches
        .iter()
        .map(|a| a.transition.arch.as_str())
        .collect();
    vec![
        format!(
            "Generated by `cascade ci generate --transition` for the stack {} ({}). Do not edit.",
            doc.stack,
            arches.join(", ")
        ),
        format!(
            "{jobs} rebuild jobs: sources outside the stack, against the new .debs of {}, each failure rechecked against {} alone.",
            doc.new_from, doc.base_suite
        ),
    ]
}
