//! JUnit XML (quick-junit): one test suite per architecture, one test case
//! per package there, so GitLab lists each package × arch in merge requests.
//! Failures of the package are `<failure>`, timeouts `<error>`; skipped,
//! excluded, cancelled and expected failures are `<skipped>` with the reason.

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::model::{Error, Report, display_class, explain};
use crate::events::Outcome;

pub fn render(report: &Report) -> Result<String, Error> {
    let name = report.stack.clone().unwrap_or_else(|| "cascade".into());
    let mut junit = quick_junit::Report::new(name);
    junit.set_time(Duration::from_secs_f64(report.duration_secs.max(0.0)));
    for arch in report.archs() {
        let mut suite = TestSuite::new(arch.clone());
        for p in report.packages() {
            let Some(r) = report.cell(&p, &arch) else {
                continue;
            };
            let why = explain(r);
            let status = if r.expected_failure.is_some() && r.outcome.is_failure() {
                let mut s = TestCaseStatus::skipped();
                s.set_message(why);
                s
            } else {
                match &r.outcome {
                    Outcome::Ok => TestCaseStatus::success(),
                    Outcome::Timeout => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                        s.set_message(why).set_type("timeout");
                        s
                    }
                    o if o.is_failure() => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        s.set_message(why).set_type(display_class(r));
                        let details = match o {
                            Outcome::Failed { errors, .. } | Outcome::TestFailed { errors } => {
                                errors.join("\n")
                            }
                            Outcome::BuildDepUnsatisfiable { missing } => missing.join("\n"),
                            _ => String::new(),
                        };
                        if !details.is_empty() {
                            s.set_description(details);
                        }
                        s
                    }
                    _ => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(why);
                        s
                    }
                }
            };
            let mut case = TestCase::new(p.clone(), status);
            case.set_classname(format!("{arch}.{p}"));
            case.set_time(Duration::from_secs_f64(r.duration_secs.max(0.0)));
            if let Some(log) = &r.log {
                case.set_system_out(format!("version {}\nlog: {}", r.version, log.display()));
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| Error::Junit(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures;

    #[test]
    fn the_demo_junit() {
        insta::assert_snapshot!(render(&fixtures::demo()).unwrap());
    }
}
