//! Reporters: each turns a run's results (or its live events) into one
//! format. They share the [`model`]; a new format never touches the runner.
//!
//! | module     | output                                             |
//! |------------|----------------------------------------------------|
//! | `model`    | the report data, counts, regressions, errors       |
//! | `text`     | terminal table, colour on a TTY                    |
//! | `json`     | `report.json`, schema `cascade-report/2`           |
//! | `junit`    | JUnit XML for GitLab                               |
//! | `html`     | self-contained HTML matrix                         |
//! | `markdown` | summary for CI job pages                           |
//! | `progress` | live progress from events (indicatif or plain)     |
//! | `port`     | the porting report (`port.json`, `cascade-port/1`) |
//! | `planned`  | the run's plan (`plan.json`): builds that never ran, edges |
//! | `files`    | writes all formats into the run directory          |

pub mod files;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod planned;
pub mod port;
pub mod progress;
pub mod text;

pub use files::write_all;
pub use model::{
    Change, Error, Regressions, Report, SCHEMA, TestChange, compare, display_class, exit_code,
    format_duration,
};
pub use progress::Progress;
