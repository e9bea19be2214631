//! Debian version policy: from an upstream tag and a recipe's version
//! template to the Debian version of the next upload, with the rules a
//! maintainer follows by hand (versions only go up; a second upload of the
//! same upstream release raises the Debian revision; porting rebuilds are
//! binNMUs). Pure: no I/O.

use debversion::Version;

/// The placeholder a recipe's version template must contain.
pub const PLACEHOLDER: &str = "{upstream}";

/// The Debian version a template gives for an upstream version:
/// `{upstream}-1~exp1` + `7.2.4` → `7.2.4-1~exp1`; epochs and `+dfsg`
/// suffixes in the template are kept.
pub fn from_template(template: &str, upstream: &str) -> Result<Version, Error> {
    if !template.contains(PLACEHOLDER) {
        return Err(Error::NoPlaceholder {
            template: template.to_owned(),
        });
    }
    let text = template.replace(PLACEHOLDER, upstream);
    parse(&text)
}

/// Parses a Debian version, with the text in the error.
pub fn parse(text: &str) -> Result<Version, Error> {
    text.parse::<Version>().map_err(|e| Error::Parse {
        version: text.to_owned(),
        reason: e.to_string(),
    })
}

/// `text.parse::<Version>().ok()` without debversion's regex, which was a
/// tenth of parsing an index (every package version and versioned relation
/// is parsed). The same answer: debversion matches
/// `^(?:(\d+):)?([A-Za-z0-9.+:~-]+?)(?:-([A-Za-z0-9+.~]+))?$`, trying the
/// epoch first; a revision has no `-`, so it is the part after the last `-`
/// when both sides are valid, else there is none. Non-ASCII text (where
/// `\d` is wider) goes to debversion itself. Checked against it in the tests.
pub fn parse_ok(text: &str) -> Option<Version> {
    if !text.is_ascii() {
        return text.parse().ok();
    }
    if let Some((epoch, rest)) = text.split_once(':')
        && !epoch.is_empty()
        && epoch.bytes().all(|c| c.is_ascii_digit())
        && let Some((upstream, revision)) = split_revision(rest)
    {
        // The regex took the epoch: one that overflows is an error there too.
        return Some(Version {
            epoch: Some(epoch.parse().ok()?),
            upstream_version: upstream.to_string(),
            debian_revision: revision.map(str::to_string),
        });
    }
    let (upstream, revision) = split_revision(text)?;
    Some(Version {
        epoch: None,
        upstream_version: upstream.to_string(),
        debian_revision: revision.map(str::to_string),
    })
}

/// An ASCII version without its epoch → (upstream, revision), as
/// [`parse_ok`] describes.
fn split_revision(s: &str) -> Option<(&str, Option<&str>)> {
    let upstream_ok = |x: &str| {
        !x.is_empty()
            && x.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".+:~-".contains(&c))
    };
    let revision_ok = |x: &str| {
        !x.is_empty()
            && x.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+.~".contains(&c))
    };
    if let Some((upstream, revision)) = s.rsplit_once('-')
        && upstream_ok(upstream)
        && revision_ok(revision)
    {
        return Some((upstream, Some(revision)));
    }
    upstream_ok(s).then_some((s, None))
}

/// Whether two versions are uploads of the same upstream release (same
/// epoch and upstream part, e.g. `7.2.4-1~exp1` and `7.2.4-2`).
pub fn same_upstream(a: &Version, b: &Version) -> bool {
    a.epoch.unwrap_or(0) == b.epoch.unwrap_or(0) && a.upstream_version == b.upstream_version
}

/// The next Debian revision of the same upstream version:
/// `-1~exp1` → `-1~exp2`, `-1` → `-2`, `+dfsg-1~exp1` → `+dfsg-1~exp2`.
pub fn next_revision(current: &Version) -> Result<Version, Error> {
    let Some(rev) = current.debian_revision.as_deref() else {
        return Err(Error::Native {
            version: current.to_string(),
        });
    };
    let digits = rev.len() - rev.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    // debversion's increment_debian parses the trailing number as i32; keep
    // absurd input from reaching it.
    if digits == 0 || digits > 9 {
        return Err(Error::NoRevisionNumber {
            version: current.to_string(),
        });
    }
    let mut next = current.clone();
    next.increment_debian();
    Ok(next)
}

/// The next binNMU of a version: `7.2.4-1` → `7.2.4-1+b1`, `+b1` → `+b2`.
pub fn next_binnmu(current: &Version) -> Version {
    current.clone().increment_bin_nmu()
}

/// What a bump does with the version, given the changelog's top version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A new upload with this version.
    New(Version),
    /// The changelog already has this upstream release (at this version).
    AlreadyAtTarget(Version),
}

/// Decides the version of the next upload.
///
/// - top < target: the target.
/// - same upstream release as the target and top ≥ target: already at target,
///   unless `reupload`, which raises top's revision (a second upload).
/// - top > target with another upstream release: an error naming both,
///   unless `force` (then the target, as `dch --force-bad-version` would).
pub fn decide(
    top: &Version,
    target: &Version,
    force: bool,
    reupload: bool,
) -> Result<Decision, Error> {
    if same_upstream(top, target) && top >= target {
        if reupload {
            return Ok(Decision::New(next_revision(top)?));
        }
        return Ok(Decision::AlreadyAtTarget(top.clone()));
    }
    if top >= target && !force {
        return Err(Error::NotIncreasing {
            current: top.to_string(),
            target: target.to_string(),
        });
    }
    Ok(Decision::New(target.clone()))
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("version template `{template}` has no `{{upstream}}` placeholder")]
    NoPlaceholder { template: String },
    #[error("`{version}` is not a valid Debian version: {reason}")]
    Parse { version: String, reason: String },
    #[error(
        "new version {target} is not greater than the changelog's top version {current} (use --force to go ahead anyway)"
    )]
    NotIncreasing { current: String, target: String },
    #[error("{version} is a native version (no Debian revision) — cannot raise its revision")]
    Native { version: String },
    #[error("the Debian revision of {version} does not end in a number — cannot raise it")]
    NoRevisionNumber { version: String },
}

#[cfg(test)]
mod tests {

    #[test]
    fn parse_ok_answers_like_debversion() {
        let cases = [
            "1.0",
            "1.0-1",
            "1:1.0-1",
            "1:1.0",
            "0:1",
            "1:",
            ":1",
            "1::2",
            "1:2:3-4",
            "a:1-2",
            "1.0-",
            "-1",
            "1.0--1",
            "1.0-1-2",
            "1.0-a:b",
            "1:-1",
            "1:1-",
            "12:3.4+dfsg-1~exp1",
            "99999999999:1-1",
            "4294967295:1",
            "4294967296:1",
            "1.2_3",
            "1 2",
            "",
            "-",
            ":",
            "1.0-1+b1",
            "2:1.0~rc1+git20240101.abc-0.1",
            "1-2-3-4",
            "~",
            "+",
            "1.0-~",
            "٣:1",
            "1.0-٣",
            "é",
            "1:a",
            "00:1-1",
            "1.0-1\n",
            "1.0-1:2",
            "1:2-3:4",
            "abc",
        ];
        for text in cases {
            assert_eq!(parse_ok(text), text.parse::<Version>().ok(), "{text:?}");
        }
    }
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn templates() {
        assert_eq!(
            from_template("{upstream}-1~exp1", "7.2.4")
                .unwrap()
                .to_string(),
            "7.2.4-1~exp1"
        );
        assert_eq!(
            from_template("{upstream}+dfsg-1~exp1", "7.2.4")
                .unwrap()
                .to_string(),
            "7.2.4+dfsg-1~exp1"
        );
        let e = from_template("1:{upstream}-1", "7.2.4").unwrap();
        assert_eq!(e.epoch, Some(1));
        assert_eq!(e.to_string(), "1:7.2.4-1");
        assert!(matches!(
            from_template("7.2.4-1", "7.2.4"),
            Err(Error::NoPlaceholder { .. })
        ));
        assert!(matches!(
            from_template("{upstream}-1", "not a version!"),
            Err(Error::Parse { .. })
        ));
    }

    #[test]
    fn revisions() {
        let next = |s: &str| next_revision(&v(s)).unwrap().to_string();
        assert_eq!(next("7.2.4-1~exp1"), "7.2.4-1~exp2");
        assert_eq!(next("7.2.4-1"), "7.2.4-2");
        assert_eq!(next("7.2.4+dfsg-1~exp1"), "7.2.4+dfsg-1~exp2");
        assert_eq!(next("1:7.2.4-9"), "1:7.2.4-10");
        assert!(matches!(
            next_revision(&v("7.2.4")),
            Err(Error::Native { .. })
        ));
        assert!(matches!(
            next_revision(&v("7.2.4-1~exp")),
            Err(Error::NoRevisionNumber { .. })
        ));
    }

    #[test]
    fn binnmus() {
        assert_eq!(
            next_binnmu(&v("7.2.4-1~exp1")).to_string(),
            "7.2.4-1~exp1+b1"
        );
        assert_eq!(next_binnmu(&v("7.2.4-1+b1")).to_string(), "7.2.4-1+b2");
        assert_eq!(
            next_binnmu(&v("1:6.4.3+ds-4")).to_string(),
            "1:6.4.3+ds-4+b1"
        );
    }

    #[test]
    fn decisions() {
        let d = |top: &str, t: &str, force, re| decide(&v(top), &v(t), force, re);
        assert_eq!(
            d("7.1.0-1", "7.2.4-1~exp1", false, false).unwrap(),
            Decision::New(v("7.2.4-1~exp1"))
        );
        assert_eq!(
            d("7.2.4-1~exp1", "7.2.4-1~exp1", false, false).unwrap(),
            Decision::AlreadyAtTarget(v("7.2.4-1~exp1"))
        );
        assert_eq!(
            d("7.2.4-1~exp2", "7.2.4-1~exp1", false, false).unwrap(),
            Decision::AlreadyAtTarget(v("7.2.4-1~exp2"))
        );
        assert_eq!(
            d("7.2.4-1~exp1", "7.2.4-1~exp1", false, true).unwrap(),
            Decision::New(v("7.2.4-1~exp2"))
        );
        assert_eq!(
            d("7.2.4-1", "7.2.4-1", false, true).unwrap(),
            Decision::New(v("7.2.4-2"))
        );
        // An older target than the changelog: refuse, naming both.
        let err = d("7.3.0-1", "7.2.4-1~exp1", false, false).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("7.3.0-1") && msg.contains("7.2.4-1~exp1"),
            "{msg}"
        );
        assert_eq!(
            d("7.3.0-1", "7.2.4-1~exp1", true, false).unwrap(),
            Decision::New(v("7.2.4-1~exp1"))
        );
        // Epoch wins over everything else.
        assert_eq!(
            d("7.3.0-1", "1:7.2.4-1", false, false).unwrap(),
            Decision::New(v("1:7.2.4-1"))
        );
        // A lower target of the same upstream, below the top: already there.
        assert_eq!(
            d("7.2.4-2", "7.2.4-1~exp1", false, false).unwrap(),
            Decision::AlreadyAtTarget(v("7.2.4-2"))
        );
    }
}
