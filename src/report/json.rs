//! `report.json`: the [`Report`] as JSON, schema `cascade-report/2`
//! (documented in docs/report-json.md).

use super::model::Report;

pub fn render(report: &Report) -> String {
    // A Report holds only strings, numbers and maps: serialising cannot fail.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures;

    #[test]
    fn the_demo_report() {
        insta::assert_snapshot!(render(&fixtures::demo()));
    }
}
