//! `cascade demo init` through the binary: repos, tags, branches, recipes.

use assert_cmd::Command;
use predicates::str::contains;

#[test]
fn demo_init_writes_the_stack_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    Command::cargo_bin("cascade")
        .unwrap()
        .args(["demo", "init"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(contains("demo-blas"));
    for pkg in cascade::demo::all_packages() {
        let up = git2::Repository::open_bare(dir.join(format!("git/upstream/{pkg}.git"))).unwrap();
        for tag in ["rocm-7.1.0", "rocm-7.2.4"] {
            assert!(up.revparse_single(tag).is_ok(), "{pkg}: no tag {tag}");
        }
        let pk = git2::Repository::open_bare(dir.join(format!("git/packaging/{pkg}.git"))).unwrap();
        let head = pk.head().unwrap().peel_to_commit().unwrap();
        let changelog = head
            .tree()
            .unwrap()
            .get_path(std::path::Path::new("debian/changelog"))
            .unwrap()
            .to_object(&pk)
            .unwrap()
            .peel_to_blob()
            .unwrap();
        assert!(
            String::from_utf8_lossy(changelog.content()).starts_with(&format!(
                "{pkg} (7.1.0-1~exp1) experimental; urgency=medium"
            ))
        );
        assert!(pk.find_branch("upstream", git2::BranchType::Local).is_ok());
        let heavy = cascade::demo::HEAVY_PACKAGES.contains(&pkg);
        let (recipes, other) = if heavy {
            ("recipes-heavy", "recipes")
        } else {
            ("recipes", "recipes-heavy")
        };
        let recipe = std::fs::read_to_string(dir.join(format!("{recipes}/{pkg}.yaml"))).unwrap();
        assert!(!dir.join(format!("{other}/{pkg}.yaml")).exists(), "{pkg}");
        assert!(recipe.contains("branch: debian/experimental"), "{recipe}");
    }
    let stack = std::fs::read_to_string(dir.join("recipes/stack.yaml")).unwrap();
    assert!(stack.contains("foreign_mode: cross"), "{stack}");
    let heavy = std::fs::read_to_string(dir.join("recipes-heavy/stack.yaml")).unwrap();
    assert!(heavy.contains("architectures: [amd64]"), "{heavy}");

    Command::cargo_bin("cascade")
        .unwrap()
        .args(["demo", "init"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(contains("exists already"));
}
