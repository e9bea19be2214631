//! JUnit XML (quick-junit): one test suite per architecture, one test case
//! per package there, so GitLab lists each package × arch in merge requests.
//! Failures of the package are `<failure>`, timeouts `<error>`; skipped,
//! excluded, cancelled and expected failures are `<skipped>` with the reason.

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::model::{Error, Report, display_class, explain};
use crate::autopkgtest::{TestCell, TestClass, TestResult};
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
    for arch in report.archs() {
        let cells: Vec<&TestCell> = (report.tests.iter())
            .filter(|t| t.arch.as_str() == arch)
            .collect();
        if cells.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(format!("{arch} tests"));
        for cell in cells {
            suite.add_test_cases(test_cases(cell));
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| Error::Junit(e.to_string()))
}

/// One test case per autopkgtest test of `cell` (classname
/// `ARCH.SOURCE.autopkgtest`), and one for the cell when something else
/// fails it (lintian, a testbed that never ran a test) or it has no tests.
fn test_cases(cell: &TestCell) -> Vec<TestCase> {
    let class = format!("{}.{}.autopkgtest", cell.arch, cell.source);
    let tests = cell.autopkgtest.iter().flat_map(|j| &j.tests);
    let mut out: Vec<TestCase> = tests
        .map(|t| {
            let mut case = TestCase::new(t.name.clone(), test_status(t));
            case.set_classname(class.clone());
            case
        })
        .collect();
    let test_failures = cell.autopkgtest.iter().flat_map(|j| &j.tests);
    let covered = test_failures.filter(|t| t.is_unexpected_failure()).count();
    if out.is_empty() || cell.unexpected.len() > covered {
        let status = if cell.unexpected.is_empty() {
            let mut s = TestCaseStatus::skipped();
            s.set_message(cell.status.clone());
            s
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(cell.unexpected.join("; "))
                .set_type(cell.status.clone());
            s
        };
        let mut case = TestCase::new(format!("{} test stage", cell.source), status);
        case.set_classname(class);
        out.push(case);
    }
    out
}

fn test_status(t: &TestResult) -> TestCaseStatus {
    let message = if t.detail.is_empty() {
        t.class.as_str().to_string()
    } else {
        format!("{}: {}", t.class.as_str(), t.detail)
    };
    match t.class {
        TestClass::Pass => TestCaseStatus::success(),
        _ if t.is_unexpected_failure() => {
            let kind = if t.class == TestClass::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(message).set_type(t.class.as_str());
            s
        }
        _ => {
            let mut s = TestCaseStatus::skipped();
            let why = t
                .expected
                .as_ref()
                .map_or(message.clone(), |e| format!("{message} (expected: {e})"));
            s.set_message(why);
            s
        }
    }
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
