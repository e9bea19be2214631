//! Live progress from the runner's events: on a terminal, indicatif bars
//! (one overall, one spinner per running build with its elapsed time);
//! otherwise one plain line per event, for CI logs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::model::{display_class, explain, format_duration};
use crate::events::{BuildResult, Event, Outcome};

enum Mode {
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
        running: BTreeMap<String, ProgressBar>,
    },
    Plain(Box<dyn Write + Send>),
}

/// Consumes events; see the module doc.
pub struct Progress {
    mode: Mode,
    total: usize,
    done: usize,
    running: usize,
    failed: usize,
    /// `source/arch` of the builds running now.
    started: BTreeSet<String>,
}

impl Progress {
    /// Bars when stdout is a terminal, plain lines on stdout otherwise.
    pub fn stdout() -> Progress {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            Progress::bars()
        } else {
            Progress::plain(Box::new(std::io::stdout()))
        }
    }

    pub fn bars() -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            mode: Mode::Bars {
                multi,
                overall,
                running: BTreeMap::new(),
            },
            total: 0,
            done: 0,
            running: 0,
            failed: 0,
            started: BTreeSet::new(),
        }
    }

    pub fn plain(out: Box<dyn Write + Send>) -> Progress {
        Progress {
            mode: Mode::Plain(out),
            total: 0,
            done: 0,
            running: 0,
            failed: 0,
            started: BTreeSet::new(),
        }
    }

    fn counts(&self) -> String {
        format!(
            "running {}, queued {}, done {}, failed {}",
            self.running,
            self.total.saturating_sub(self.done + self.running),
            self.done,
            self.failed
        )
    }

    fn finished_line(&self, r: &BuildResult) -> String {
        let class = display_class(r);
        let mut line = format!(
            "[{:>w$}/{}] {class:<8} {}/{} {}",
            self.done,
            self.total,
            r.source,
            r.arch,
            r.version,
            w = self.total.to_string().len()
        );
        if r.duration_secs > 0.0 {
            line.push_str(&format!(" ({})", format_duration(r.duration_secs)));
        }
        if r.reused {
            line.push_str(" reused");
        }
        if r.outcome != Outcome::Ok {
            let why = explain(r);
            let why = why.strip_prefix(&format!("{class}: ")).unwrap_or(&why);
            line.push_str(&format!(": {why}"));
        }
        line
    }

    /// Updates the view for one event.
    pub fn handle(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                run_dir,
                total,
                jobs,
            } => self.run_started(run_dir, *total, *jobs),
            Event::BuildStarted {
                source,
                arch,
                version,
            } => self.build_started(&format!("{source}/{arch}"), version),
            Event::BuildFinished { result } => self.build_finished(result),
            Event::TestStarted {
                source,
                arch,
                version,
            } => {
                if matches!(self.mode, Mode::Plain(_)) {
                    self.say(format!("test     {source}/{arch} {version}"));
                }
            }
            Event::TestFinished { cell } => self.say(test_line(cell)),
            Event::RunFinished {
                results,
                duration_secs,
            } => self.run_finished(results, *duration_secs),
        }
    }

    /// One line above the bars, or on its own.
    fn say(&mut self, line: String) {
        match &mut self.mode {
            Mode::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
            Mode::Plain(out) => {
                let _ = writeln!(out, "{line}");
            }
        }
    }

    fn run_started(&mut self, run_dir: &std::path::Path, total: usize, jobs: usize) {
        self.total = total;
        let line = format!(
            "cascade: {total} builds, {jobs} at a time, in {}",
            run_dir.display()
        );
        match &mut self.mode {
            Mode::Bars { multi, overall, .. } => {
                overall.set_length(total as u64);
                overall.enable_steady_tick(Duration::from_millis(200));
                let _ = multi.println(line);
            }
            Mode::Plain(out) => {
                let _ = writeln!(out, "{line}");
            }
        }
    }

    /// `key` is `SOURCE/ARCH`.
    fn build_started(&mut self, key: &str, version: &str) {
        self.running += 1;
        self.started.insert(key.to_string());
        let counts = self.counts();
        match &mut self.mode {
            Mode::Bars {
                multi,
                overall,
                running,
            } => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("{key} {version}"));
                bar.enable_steady_tick(Duration::from_millis(200));
                running.insert(key.to_string(), bar);
                overall.set_message(counts);
            }
            Mode::Plain(out) => {
                let _ = writeln!(
                    out,
                    "[{:>w$}/{}] start    {key} {version}",
                    self.done,
                    self.total,
                    w = self.total.to_string().len()
                );
            }
        }
    }

    fn build_finished(&mut self, result: &BuildResult) {
        let key = format!("{}/{}", result.source, result.arch);
        self.done += 1;
        if result.is_unexpected_failure() {
            self.failed += 1;
        }
        let line = self.finished_line(result);
        if self.started.remove(&key) {
            self.running = self.running.saturating_sub(1);
        }
        let counts = self.counts();
        match &mut self.mode {
            Mode::Bars {
                multi,
                overall,
                running,
            } => {
                if let Some(bar) = running.remove(&key) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(line);
                overall.inc(1);
                overall.set_message(counts);
            }
            Mode::Plain(out) => {
                let _ = writeln!(out, "{line}");
            }
        }
    }

    fn run_finished(&mut self, results: &[BuildResult], duration_secs: f64) {
        let rep = super::model::Report::new(None, Default::default(), 0.0, results.to_vec());
        let line = format!(
            "cascade: {} in {}",
            rep.counts_line(),
            format_duration(duration_secs)
        );
        match &mut self.mode {
            Mode::Bars {
                multi,
                overall,
                running,
            } => {
                for (_, bar) in std::mem::take(running) {
                    bar.finish_and_clear();
                }
                overall.finish_and_clear();
                let _ = multi.println(line);
            }
            Mode::Plain(out) => {
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }
}

/// A test job's line: `tested   demo-blas/amd64 1-1: skipped`, then what
/// fails it; `reused` when taken from an earlier run.
fn test_line(cell: &crate::autopkgtest::TestCell) -> String {
    let mut line = format!(
        "tested   {}/{} {}: {}",
        cell.source, cell.arch, cell.version, cell.status
    );
    if cell.reused {
        line.push_str(" reused");
    }
    let why: Vec<&str> = (cell.detail.iter().chain(&cell.unexpected))
        .map(String::as_str)
        .collect();
    if !why.is_empty() {
        line.push_str(&format!(" ({})", why.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn plain_lines_for_ci_logs() {
        let buf = Buf::default();
        let mut p = Progress::plain(Box::new(buf.clone()));
        let rep = fixtures::demo();
        p.handle(&Event::RunStarted {
            run_dir: "/srv/run".into(),
            total: rep.results.len(),
            jobs: 2,
        });
        for r in &rep.results {
            if r.log.is_some() {
                p.handle(&Event::BuildStarted {
                    source: r.source.clone(),
                    arch: r.arch.clone(),
                    version: r.version.clone(),
                });
            }
            p.handle(&Event::BuildFinished { result: r.clone() });
        }
        p.handle(&Event::RunFinished {
            results: rep.results.clone(),
            duration_secs: rep.duration_secs,
        });
        assert_eq!(p.running, 0);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn progress_can_live_in_a_task() {
        fn send<T: Send + 'static>() {}
        send::<Progress>();
    }

    #[test]
    fn bars_take_every_event_without_a_terminal() {
        let mut p = Progress::bars();
        let rep = fixtures::demo();
        p.handle(&Event::RunStarted {
            run_dir: "/srv/run".into(),
            total: 1,
            jobs: 1,
        });
        p.handle(&Event::BuildStarted {
            source: "a".into(),
            arch: rep.results[1].arch.clone(),
            version: "1".into(),
        });
        assert_eq!(p.running, 1);
        let mut r = rep.results[1].clone();
        r.source = "a".into();
        p.handle(&Event::BuildFinished { result: r });
        assert_eq!((p.running, p.done), (0, 1));
        p.handle(&Event::RunFinished {
            results: vec![],
            duration_secs: 1.0,
        });
    }
}
