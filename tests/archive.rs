//! Archive indices over HTTP (127.0.0.1), `file://` and a directory, from the
//! trimmed snapshot in tests/fixtures/archive: conditional requests and the
//! cache, offline fallback, 404, truncated xz, gz and plain indices,
//! malformed paragraphs, expired Valid-Until.

#[path = "fixtures/archive/server.rs"]
mod server;

use assert_cmd::Command;
use predicates::prelude::*;
use server::{Server, copy_fixture, fixture, relist};

fn cascade() -> Command {
    Command::cargo_bin("cascade").unwrap()
}

/// `cascade rdeps --parse-only` against `mirror`, with a private cache. The
/// fixture is not signed: `signed_release_*` tests check signatures.
fn parse_only(mirror: &str, cache: &std::path::Path, extra: &[&str]) -> Command {
    let mut c = cascade();
    c.args(["rdeps", "--parse-only", "--mirror", mirror, "--cache-dir"])
        .arg(cache)
        .arg("--no-verify-signature")
        .args(extra);
    c
}

#[test]
fn http_mirror_with_cache_and_conditional_requests() {
    let server = Server::serve(&fixture());
    let cache = tempfile::tempdir().unwrap();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "parsed 47 sources and 830 amd64 binaries of sid",
        ));
    let sources = "/dists/sid/main/source/Sources.xz";
    assert!(server.log().contains(&(sources.to_string(), 200)));
    // The Release says arch:all packages are in every binary-ARCH index.
    assert!(!server.log().iter().any(|(p, _)| p.contains("binary-all")));

    // Warm: Release (asked conditionally) keys the parsed cache, so the
    // indices are not asked for at all.
    let asked = |log: &[(String, u16)]| log.iter().filter(|(p, _)| p == sources).count();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .success();
    assert!(
        server
            .log()
            .contains(&("/dists/sid/Release".to_string(), 304))
    );
    assert_eq!(asked(&server.log()), 1, "{:?}", server.log());

    // Without the parsed cache, the index is fetched again, conditionally.
    std::fs::remove_dir_all(cache.path().join("parsed")).unwrap();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .success();
    assert!(
        server.log().contains(&(sources.to_string(), 304)),
        "second fetch should be conditional: {:?}",
        server.log()
    );

    // Offline: the cached copies answer, with a warning.
    server.shutdown();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parsed 47 sources"));
}

#[test]
fn offline_without_cache_is_a_network_error() {
    let server = Server::serve(&fixture());
    server.shutdown();
    let cache = tempfile::tempdir().unwrap();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot reach"))
        .stderr(predicate::str::contains("dists/sid/Release"))
        .stderr(predicate::str::contains("offline"));
}

#[test]
fn missing_suite_is_a_404_naming_the_url() {
    let server = Server::serve(&fixture());
    let cache = tempfile::tempdir().unwrap();
    parse_only(
        &server.url,
        cache.path(),
        &["--allow-expired", "--suite", "bookworm"],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains("suite `bookworm` not found"))
    .stderr(predicate::str::contains(format!(
        "{}/dists/bookworm/Release (HTTP 404)",
        server.url
    )));
}

#[test]
fn missing_architecture_index_is_a_404() {
    let cache = tempfile::tempdir().unwrap();
    let mirror = fixture();
    parse_only(
        mirror.to_str().unwrap(),
        cache.path(),
        &["--allow-expired", "--arch", "s390x"],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains("binary-s390x/Packages"))
    .stderr(predicate::str::contains("not found"));
}

#[test]
fn truncated_xz_names_the_file() {
    let dir = copy_fixture();
    let path = dir.path().join("dists/sid/main/source/Sources.xz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    relist(dir.path(), "sid");
    let server = Server::serve(dir.path());
    let cache = tempfile::tempdir().unwrap();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}/dists/sid/main/source/Sources.xz: corrupt or truncated",
            server.url
        )));
}

#[test]
fn expired_release_needs_allow_expired() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::serve(&fixture());
    parse_only(&server.url, cache.path(), &[])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("dists/sid/Release"))
        .stderr(predicate::str::contains(
            "Valid-Until Wed, 01 Jan 2020 00:00:00 UTC has passed",
        ))
        .stderr(predicate::str::contains("--allow-expired"));
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .success();
}

#[test]
fn gz_and_plain_indices_and_file_urls() {
    let dir = copy_fixture();
    let main = dir.path().join("dists/sid/main");
    let unxz = |p: &std::path::Path| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut xz2::read::XzDecoder::new(std::fs::File::open(p).unwrap()),
            &mut out,
        )
        .unwrap();
        std::fs::remove_file(p).unwrap();
        out
    };
    let sources = unxz(&main.join("source/Sources.xz"));
    std::fs::write(main.join("source/Sources"), sources).unwrap();
    let packages = unxz(&main.join("binary-amd64/Packages.xz"));
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(main.join("binary-amd64/Packages.gz")).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut gz, &packages).unwrap();
    gz.finish().unwrap();
    relist(dir.path(), "sid");
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    parse_only(&url, cache.path(), &["--allow-expired"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "parsed 47 sources and 830 amd64 binaries",
        ));
}

#[test]
fn malformed_paragraph_names_file_and_line() {
    let dir = copy_fixture();
    let src = dir.path().join("dists/sid/main/source");
    std::fs::remove_file(src.join("Sources.xz")).unwrap();
    std::fs::write(
        src.join("Sources"),
        "Package: a\nVersion: 1\nArchitecture: any\n\nPackage: b\nthis is not a field\n",
    )
    .unwrap();
    relist(dir.path(), "sid");
    let cache = tempfile::tempdir().unwrap();
    parse_only(
        dir.path().to_str().unwrap(),
        cache.path(),
        &["--allow-expired"],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains(
        "dists/sid/main/source/Sources:6: expected `Field: value`",
    ));
    std::fs::write(
        src.join("Sources"),
        "Package: a\nVersion: 1\nArchitecture: any\nBuild-Depends: foo (>= 1\n",
    )
    .unwrap();
    relist(dir.path(), "sid");
    parse_only(
        dir.path().to_str().unwrap(),
        cache.path(),
        &["--allow-expired"],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains("Sources:4: field Build-Depends"));
}

#[test]
fn library_loads_both_suites_for_four_arches() {
    use cascade::archive::{FetchOptions, Fetcher, Mirror, load_suite};
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(
        Mirror::Dir(fixture()),
        &FetchOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            allow_expired: true,
            ..Default::default()
        },
    )
    .unwrap();
    let arches = ["amd64", "arm64", "ppc64el", "riscv64"];
    let sid = load_suite(&fetcher, "unstable", &arches).unwrap();
    assert_eq!(sid.name, "sid");
    assert!(sid.release.expired);
    assert_eq!(sid.packages.len(), 4);
    let hipamd = sid.sources.get("rocm-hipamd").expect("rocm-hipamd in sid");
    assert!(
        hipamd
            .maintainer
            .as_deref()
            .unwrap()
            .contains("Debian ROCm Team")
    );
    let amd64 = &sid.packages["amd64"];
    assert_eq!(amd64.source_of("libamdhip64-dev"), Some("rocm-hipamd"));
    assert!(
        amd64
            .binaries_of("rocm-hipamd")
            .iter()
            .any(|b| b == "libamdhip64-dev")
    );
    assert_eq!(amd64.source_of("hipcc"), Some("rocm-llvm"));
    let rocm = sid.sources.by_maintainer("Debian ROCm Team").count();
    assert!(rocm >= 30, "{rocm} ROCm sources");
    let exp = load_suite(&fetcher, "experimental", &arches).unwrap();
    assert!(exp.sources.get("rocm-hipamd").is_some());
    assert!(!exp.packages["riscv64"].is_empty());
}

#[test]
fn binary_all_index_is_merged_when_the_release_asks_for_it() {
    use cascade::archive::{FetchOptions, Fetcher, Mirror, load_suite};
    let dir = copy_fixture();
    let sid = dir.path().join("dists/sid");
    let release = std::fs::read_to_string(sid.join("Release")).unwrap();
    let release: String = release
        .lines()
        .filter(|l| !l.starts_with("No-Support-for-Architecture-all"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(sid.join("Release"), release).unwrap();
    std::fs::create_dir_all(sid.join("main/binary-all")).unwrap();
    std::fs::write(
        sid.join("main/binary-all/Packages"),
        "Package: only-in-binary-all\nVersion: 1\nArchitecture: all\nProvides: virtual-x\n",
    )
    .unwrap();
    relist(dir.path(), "sid");
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(
        Mirror::Dir(dir.path().to_path_buf()),
        &FetchOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            allow_expired: true,
            ..Default::default()
        },
    )
    .unwrap();
    let suite = load_suite(&fetcher, "sid", &["amd64", "riscv64"]).unwrap();
    for arch in ["amd64", "riscv64"] {
        let p = &suite.packages[arch];
        assert!(p.get("only-in-binary-all").is_some(), "{arch}");
        assert_eq!(p.providers("virtual-x")[0].package, "only-in-binary-all");
    }
    assert!(suite.packages["amd64"].get("libamdhip64-dev").is_some());
}

/// Issue 17.5: an index changed after Release, a Release without checksum
/// lines, and an emptied index are refused, naming the file; an empty index
/// the Release lists as empty is fine.
#[test]
fn indices_must_match_the_release() {
    let dir = copy_fixture();
    let mirror = dir.path().to_str().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let packages = dir.path().join("dists/sid/main/binary-amd64/Packages.xz");
    let mut empty = Vec::new();
    let mut xz = xz2::write::XzEncoder::new(&mut empty, 6);
    std::io::Write::write_all(&mut xz, b"").unwrap();
    xz.finish().unwrap();
    std::fs::write(&packages, &empty).unwrap();
    parse_only(mirror, cache.path(), &["--allow-expired"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "dists/sid/main/binary-amd64/Packages.xz: does not match the Release file: size",
        ));
    relist(dir.path(), "sid");
    parse_only(mirror, cache.path(), &["--allow-expired"])
        .assert()
        .success()
        .stdout(predicate::str::contains("and 0 amd64 binaries"));

    let release = dir.path().join("dists/sid/Release");
    let text = std::fs::read_to_string(&release).unwrap();
    let sources = "main/source/Sources.xz";
    let line = text.lines().find(|l| l.ends_with(sources)).unwrap();
    let wrong = format!(" {} {}", "0".repeat(64), line.split_at(66).1);
    std::fs::write(&release, text.replace(line, &wrong)).unwrap();
    parse_only(mirror, cache.path(), &["--allow-expired"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "dists/sid/{sources}: does not match the Release file: SHA256"
        )));
    let header = text.split("SHA256:").next().unwrap();
    std::fs::write(&release, header).unwrap();
    parse_only(mirror, cache.path(), &["--allow-expired"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lists no SHA256 checksums"));
}

/// Issue 17.5: over HTTP, a Release without InRelease or Release.gpg is
/// refused while a keyring is there to check it (any file will do: nothing
/// is checked), unless --no-verify-signature.
#[test]
fn unsigned_release_over_http_is_refused() {
    let server = Server::serve(&fixture());
    let cache = tempfile::tempdir().unwrap();
    let keyring = tempfile::NamedTempFile::new().unwrap();
    let rdeps = || {
        let mut c = cascade();
        c.env("CASCADE_KEYRING", keyring.path())
            .args(["rdeps", "--parse-only", "--allow-expired", "--mirror"])
            .arg(&server.url)
            .arg("--cache-dir")
            .arg(cache.path());
        c
    };
    rdeps()
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}/dists/sid/Release: no InRelease or Release.gpg",
            server.url
        )))
        .stderr(predicate::str::contains("--no-verify-signature"));
    rdeps().arg("--no-verify-signature").assert().success();
}

/// Issue 17.5: a signature that does not verify with the Debian archive
/// keyring is refused (gpgv and debian-archive-keyring: apt depends on both).
#[test]
fn signed_release_with_a_bad_signature_is_refused() {
    let keyring = std::path::Path::new(cascade::archive::fetch::DEBIAN_KEYRING);
    let gpgv = std::process::Command::new("gpgv").arg("--version").output();
    assert!(
        keyring.is_file() && gpgv.is_ok_and(|o| o.status.success()),
        "needs gpgv and debian-archive-keyring (apt depends on both)"
    );
    let dir = copy_fixture();
    let release = std::fs::read_to_string(dir.path().join("dists/sid/Release")).unwrap();
    let forged = format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{release}\
         -----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCAAdFiEE\n=AAAA\n-----END PGP SIGNATURE-----\n"
    );
    std::fs::write(dir.path().join("dists/sid/InRelease"), forged).unwrap();
    let server = Server::serve(dir.path());
    let cache = tempfile::tempdir().unwrap();
    cascade()
        .env_remove("CASCADE_KEYRING")
        .args(["rdeps", "--parse-only", "--allow-expired", "--mirror"])
        .arg(&server.url)
        .arg("--cache-dir")
        .arg(cache.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}/dists/sid/InRelease: bad signature",
            server.url
        )));
}

/// Issue 17.8: a server that accepts and never answers costs the stall
/// timeout (here 1 s, CASCADE_HTTP_TIMEOUT) per attempt, and the error names
/// the URL and says it timed out (before: 300 s, then "error sending request").
#[test]
fn a_silent_server_times_out_naming_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Accept, read nothing, answer nothing, keep the connections open.
        let mut open = Vec::new();
        for c in listener.incoming().take(2).flatten() {
            open.push(c);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
    let cache = tempfile::tempdir().unwrap();
    parse_only(&url, cache.path(), &["--allow-expired"])
        .env("CASCADE_HTTP_TIMEOUT", "1")
        .env("CASCADE_HTTP_RETRIES", "1")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "cannot reach {url}/dists/sid/Release: timed out"
        )));
    drop(held);
}

/// Issue 17.8: a 5xx answer is tried again (CASCADE_HTTP_RETRIES more
/// times, after a pause), then reported with the URL and the status.
#[test]
fn a_server_error_is_retried_then_reported() {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = conn.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let cache = tempfile::tempdir().unwrap();
    parse_only(&url, cache.path(), &["--allow-expired"])
        .env("CASCADE_HTTP_RETRIES", "1")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{url}/dists/sid/Release: HTTP status 503"
        )));
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// Issue 17.5: a Release signed by the keyring's key is read from InRelease
/// (what it signs is what is used: here there is no plain Release), and a
/// Release changed after its detached Release.gpg was made is refused.
#[test]
#[ignore = "needs gpg"]
fn signed_release_verifies_with_its_keyring() {
    let home = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        let out = std::process::Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--passphrase", ""])
            .args(args)
            .output()
            .expect("gpg (gnupg) runs");
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    gpg(&[
        "--quick-gen-key",
        "Test Archive <t@example.org>",
        "ed25519",
        "sign",
        "never",
    ]);
    let keyring = home.path().join("keyring.gpg");
    std::fs::write(&keyring, gpg(&["--export"])).unwrap();
    let dir = copy_fixture();
    let (sid, exp) = (
        dir.path().join("dists/sid"),
        dir.path().join("dists/experimental"),
    );
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    gpg(&[
        "--clearsign",
        "-o",
        &path(&sid.join("InRelease")),
        &path(&sid.join("Release")),
    ]);
    std::fs::remove_file(sid.join("Release")).unwrap();
    gpg(&[
        "--detach-sign",
        "-o",
        &path(&exp.join("Release.gpg")),
        &path(&exp.join("Release")),
    ]);
    let release = std::fs::read_to_string(exp.join("Release")).unwrap();
    std::fs::write(exp.join("Release"), format!("X-Changed: yes\n{release}")).unwrap();
    let server = Server::serve(dir.path());
    let rdeps = |suite: &str| {
        let cache = tempfile::tempdir().unwrap();
        let mut c = cascade();
        c.env("CASCADE_KEYRING", &keyring)
            .args(["rdeps", "--parse-only", "--allow-expired", "--suite", suite])
            .args(["--mirror", &server.url, "--cache-dir"])
            .arg(cache.path());
        c.assert()
    };
    rdeps("sid")
        .success()
        .stdout(predicate::str::contains("parsed 47 sources"));
    rdeps("experimental")
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}/dists/experimental/Release: bad signature",
            server.url
        )));
}

/// Offline, a cache made before signatures were checked (no InRelease in
/// it) still answers: the signature cannot be fetched, which is warned
/// about, not an error.
#[test]
fn offline_cache_without_a_signature_still_answers() {
    let server = Server::serve(&fixture());
    let cache = tempfile::tempdir().unwrap();
    parse_only(&server.url, cache.path(), &["--allow-expired"])
        .assert()
        .success();
    server.shutdown();
    let keyring = tempfile::NamedTempFile::new().unwrap();
    cascade()
        .env("CASCADE_KEYRING", keyring.path())
        .args(["rdeps", "--parse-only", "--allow-expired", "--mirror"])
        .arg(&server.url)
        .arg("--cache-dir")
        .arg(cache.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("cannot check the signature"))
        .stdout(predicate::str::contains("parsed 47 sources"));
}
