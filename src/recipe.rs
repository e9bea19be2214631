//! Recipes (`recipes/*.yaml`) and the stack file (`recipes/stack.yaml`).
//!
//! The schema is strict (`deny_unknown_fields`); every error names the file,
//! line, column and field. The types below are the contract the rest of the
//! crate codes against; loading and validation live here too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arch::Arch;

/// How one architecture is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildMode {
    /// The host's own architecture.
    Native,
    /// A foreign-architecture chroot under qemu-user binfmt emulation.
    Qemu,
    /// `sbuild --host=ARCH` in a chroot of the build machine's architecture.
    Cross,
}

impl BuildMode {
    pub const ALL: [BuildMode; 3] = [BuildMode::Native, BuildMode::Qemu, BuildMode::Cross];

    pub fn as_str(self) -> &'static str {
        match self {
            BuildMode::Native => "native",
            BuildMode::Qemu => "qemu",
            BuildMode::Cross => "cross",
        }
    }
}

impl std::fmt::Display for BuildMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BuildMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BuildMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown build mode `{s}` (known: native, qemu, cross)"))
    }
}

/// `recipes/stack.yaml`: what the whole stack is built for, and how.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// A name for reports (`rocm-7.2.4`).
    pub name: String,
    /// The suite uploads target and changelog entries name (`experimental`).
    pub suite: String,
    /// The suite builds run on (`unstable`): chroots and archive indices.
    pub base_suite: String,
    /// Debian mirror, e.g. `http://deb.debian.org/debian`.
    pub mirror: String,
    /// Architectures to build, in report order.
    pub architectures: Vec<Arch>,
    /// Build mode per architecture; a missing one means native for the host
    /// arch and [`Stack::foreign_mode`] otherwise.
    #[serde(default)]
    pub modes: BTreeMap<Arch, BuildMode>,
    /// How the architectures other than the host's that `modes` does not
    /// name are built: `qemu` (the default) or `cross` (`sbuild --host`;
    /// recipes with `cross: false` stay under qemu).
    #[serde(default)]
    pub foreign_mode: Option<BuildMode>,
    /// GitLab runner tags per architecture for `cascade ci generate`.
    #[serde(default)]
    pub runner_tags: BTreeMap<Arch, Vec<String>>,
    /// Fallback changelog maintainer when DEBFULLNAME/DEBEMAIL are unset.
    #[serde(default)]
    pub maintainer: Option<String>,
    /// Per-build timeout in minutes, when a recipe sets none.
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// Build profiles active for every build (e.g. `nocheck`).
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Architectures a nightly run treats as porting targets (see `cascade port`).
    #[serde(default)]
    pub port: Vec<Arch>,
    /// ccache's size per architecture for local builds (`5G`, ccache's
    /// `max_size` syntax); `0` turns ccache off. Default [`DEFAULT_CCACHE_SIZE`].
    #[serde(default)]
    pub ccache_size: Option<String>,
    /// Unpack each local build's chroot on tmpfs (/dev/shm): the unpack and
    /// the removal after the build, most of a small build's fixed cost,
    /// take seconds. For stacks of small packages; a large build needs its
    /// build space in RAM.
    #[serde(default)]
    pub chroot_tmpfs: bool,
    /// The test stage: autopkgtest's backend and timeout, lintian's verdict.
    #[serde(default)]
    pub tests: StackTests,
}

/// `tests:` in stack.yaml: how `cascade test` runs autopkgtest and lintian.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StackTests {
    /// autopkgtest's virt-server and its arguments (the words after `--`,
    /// e.g. `[podman+rocm, rocm-testbed]`), keyed by architecture or
    /// `default`; an arch with neither runs `unshare` on the chroot tarball
    /// `cascade setup` made for it.
    #[serde(default)]
    pub backend: BTreeMap<String, Vec<String>>,
    /// Seconds one test may run (autopkgtest's `--timeout-test`), when the
    /// recipe sets none; none: autopkgtest's own default.
    #[serde(default)]
    pub timeout: Option<u64>,
    #[serde(default)]
    pub lintian: LintianSettings,
    /// GitLab runner tags per architecture for the `test:SRC:ARCH` jobs of
    /// `cascade ci generate --test` (GPU tests on GPU runners); an arch
    /// without: its build's tags. Where a test runs does not change its
    /// result, so it is not part of the tests' input hash (not serialised).
    #[serde(default, skip_serializing)]
    pub runner_tags: BTreeMap<Arch, Vec<String>>,
}

/// `tests.lintian:` in stack.yaml.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LintianSettings {
    /// The lowest tag severity that fails the cell.
    #[serde(default)]
    pub fail_on: LintianFailOn,
}

/// Which lintian tags fail a cell. The default reports tags without
/// failing anything: a rebuild that lintian dislikes is still a rebuild.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LintianFailOn {
    /// `E:` tags fail the cell.
    Error,
    /// `E:` and `W:` tags fail the cell.
    Warning,
    #[default]
    Never,
}

/// The key of [`StackTests::backend`] that holds every other arch's backend.
pub const DEFAULT_BACKEND_KEY: &str = "default";

/// The ccache size of a stack that names none.
pub const DEFAULT_CCACHE_SIZE: &str = "5G";

/// Whether `s` is a size ccache's `max_size` takes: a number and an
/// optional unit (`500M`, `1.5G`, `2Gi`, `0`).
pub fn is_ccache_size(s: &str) -> bool {
    let unit = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let number = &s[..s.len() - unit.len()];
    number.parse::<f64>().is_ok()
        && ["", "k", "K", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"].contains(&unit)
}

/// Where the packaging lives.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Packaging {
    /// Git URL (https, file:// or a plain path).
    pub repo: String,
    /// Branch to work on (`debian/experimental`).
    pub branch: String,
    /// How upstream sources enter the packaging branch.
    #[serde(default)]
    pub import: ImportStyle,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportStyle {
    /// gbp style: an `upstream` branch and `upstream/X` tags merged into the
    /// packaging branch.
    #[default]
    Gbp,
    /// The packaging repo holds only `debian/`; upstream comes from the orig tarball.
    DebianOnly,
}

/// The upstream project and the release to move to.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub repo: String,
    /// The target tag (`rocm-7.2.4`).
    pub tag: String,
    /// The upstream version the tag stands for, when it cannot be read off
    /// the tag (packages with their own scheme, e.g. rocm-cmake).
    #[serde(default)]
    pub version: Option<String>,
}

/// Per-architecture porting knowledge.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortSettings {
    /// Patches (paths relative to the recipe) applied to the build copy.
    #[serde(default)]
    pub patches: Vec<String>,
    /// Extra build profiles, e.g. `nocheck` under emulation.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Extra environment for the build.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// Also widen architecture restrictions in Build-Depends (`[amd64 arm64]`).
    #[serde(default)]
    pub widen_build_depends: bool,
}

/// An expected failure on one architecture.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    pub reason: String,
    #[serde(default)]
    pub link: Option<String>,
}

/// One source package of the stack (`recipes/SOURCE.yaml`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The source package name.
    pub source: String,
    pub packaging: Packaging,
    pub upstream: Upstream,
    /// Debian version template: `{upstream}-1~exp1`, `1:{upstream}+dfsg-1~exp1`.
    pub version: String,
    /// A native package (`3.0 (native)`): its version has no Debian revision,
    /// so the template is just `{upstream}` (plus any suffix).
    #[serde(default)]
    pub native: bool,
    /// Architectures to build; none means the stack's list.
    #[serde(default)]
    pub architectures: Option<Vec<Arch>>,
    /// Architectures where a failure is expected, with the reason.
    #[serde(default)]
    pub expected_failures: BTreeMap<Arch, ExpectedFailure>,
    /// Take this package's build-dependencies from the archive instead of the
    /// stack, cutting a cycle.
    #[serde(default)]
    pub bootstrap: bool,
    /// Extra changelog lines after "New upstream version X".
    #[serde(default)]
    pub changelog: Vec<String>,
    /// Commit message for the bump; default "New upstream version X".
    #[serde(default)]
    pub commit_message: Option<String>,
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// Relative memory weight of one build (1 = a small package).
    #[serde(default = "one")]
    pub memory_weight: u32,
    /// Whether the package cross-builds; `false`: where the stack builds an
    /// arch cross, this package is built under qemu instead.
    #[serde(default = "yes")]
    pub cross: bool,
    #[serde(default)]
    pub port: BTreeMap<Arch, PortSettings>,
    /// The package's autopkgtests under `cascade test`.
    #[serde(default)]
    pub tests: RecipeTests,
}

/// `tests:` in a recipe.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeTests {
    /// Tests known to fail, per architecture, with the reason.
    #[serde(default)]
    pub expected_failures: Vec<ExpectedTestFailure>,
    /// Seconds one test may run, over the stack's `tests.timeout`.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Do not run this package's tests at all.
    #[serde(default)]
    pub skip: bool,
    /// Runner tags of this package's CI test jobs per architecture, over
    /// the stack's `tests.runner_tags` (not part of the input hash either).
    #[serde(default, skip_serializing)]
    pub runner_tags: BTreeMap<Arch, Vec<String>>,
}

/// One autopkgtest test expected to fail.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTestFailure {
    /// The test's name in debian/tests/control (`Tests:` or `command1`).
    pub test: String,
    /// Where it fails; empty: on every architecture.
    #[serde(default)]
    pub arches: Vec<Arch>,
    pub reason: String,
    #[serde(default)]
    pub link: Option<String>,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// The loaded stack: the stack file plus every recipe, sorted by source name.
#[derive(Clone, Debug)]
pub struct Recipes {
    pub dir: PathBuf,
    pub stack: Stack,
    pub recipes: Vec<Recipe>,
}

/// A sample upstream version substituted into templates to check that they
/// yield a valid Debian version.
const SAMPLE_UPSTREAM: &str = "7.2.4";

/// The stack file's name inside the recipes directory.
pub const STACK_FILE: &str = "stack.yaml";

impl Recipes {
    /// The recipe of `source`, if the stack has one.
    pub fn get(&self, source: &str) -> Option<&Recipe> {
        self.recipes.iter().find(|r| r.source == source)
    }

    /// How `source` is built where its arch is built `arch_mode` (the
    /// run's `--mode` for the arch, else [`Stack::mode_for`]): the same,
    /// except that a recipe that cannot cross-build (`cross: false`) is
    /// built under qemu where the arch is built cross. The one rule for a
    /// build's mode.
    pub fn mode_of(&self, source: &str, arch_mode: BuildMode) -> BuildMode {
        match self.get(source) {
            Some(r) if arch_mode == BuildMode::Cross && !r.cross => BuildMode::Qemu,
            _ => arch_mode,
        }
    }

    /// The architectures `recipe` is built for: its own list, else the stack's.
    pub fn arches_for(&self, recipe: &Recipe) -> Vec<Arch> {
        recipe
            .architectures
            .clone()
            .unwrap_or_else(|| self.stack.architectures.clone())
    }
}

impl Stack {
    /// autopkgtest's virt-server arguments for `arch` from `tests.backend`
    /// (the arch's own, else `default`); `None`: the unshare default.
    pub fn test_backend(&self, arch: &Arch) -> Option<&[String]> {
        let backend = &self.tests.backend;
        backend
            .get(arch.as_str())
            .or_else(|| backend.get(DEFAULT_BACKEND_KEY))
            .map(Vec::as_slice)
    }

    /// How `arch` is built: the explicit mode, else native for the build
    /// machine's own architecture and [`Stack::foreign_mode`] (qemu unless
    /// set) for any other.
    pub fn mode_for(&self, arch: &Arch) -> BuildMode {
        match self.modes.get(arch) {
            Some(mode) => *mode,
            None if *arch == Arch::host() => BuildMode::Native,
            None => self.foreign_mode.unwrap_or(BuildMode::Qemu),
        }
    }
}

impl Recipe {
    /// The upstream version the target tag stands for: `upstream.version`
    /// when set, else the tag without its non-numeric prefix (`rocm-7.2.4` →
    /// `7.2.4`, `v1.2` → `1.2`).
    pub fn upstream_version(&self) -> String {
        match &self.upstream.version {
            Some(v) => v.clone(),
            None => {
                let tag = &self.upstream.tag;
                let start = tag.find(|c: char| c.is_ascii_digit()).unwrap_or(tag.len());
                tag[start..].to_string()
            }
        }
    }

    /// The Debian version to move to: the template with `{upstream}` filled in.
    pub fn debian_version(&self) -> String {
        self.version.replace("{upstream}", &self.upstream_version())
    }

    /// Why `test` is expected to fail on `arch`, if it is.
    pub fn expected_test_failure(&self, test: &str, arch: &Arch) -> Option<&ExpectedTestFailure> {
        self.tests
            .expected_failures
            .iter()
            .find(|e| e.test == test && (e.arches.is_empty() || e.arches.contains(arch)))
    }

    /// Seconds one of this package's tests may run: the recipe's, else the stack's.
    pub fn test_timeout(&self, stack: &Stack) -> Option<u64> {
        self.tests.timeout.or(stack.tests.timeout)
    }
}

/// One problem found in a recipe or the stack file, at a position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line and column of the offending key or value.
    pub line: usize,
    pub column: usize,
    /// Dotted field path (`upstream.tag`, `architectures[1]`); none for
    /// errors about the whole file (YAML syntax).
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the recipes directory {}", dir.display())]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recipes directory {} has no {STACK_FILE}", dir.display())]
    NoStack { dir: PathBuf },
    #[error("{} is not a regular file: a recipe must be one", path.display())]
    NotAFile { path: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found in the stack file and the recipes, in file order.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
}

fn render_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut out = format!("{} problems in the recipes:", many.len());
            for p in many {
                out.push_str("\n  ");
                out.push_str(&p.to_string());
            }
            out
        }
    }
}

/// Reads `dir/stack.yaml` and every other `dir/*.yaml` (one recipe each, in
/// file-name order) and validates them all, reporting every problem found.
pub fn load(dir: &Path) -> Result<Recipes, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut recipe_files = Vec::new();
    let mut has_stack = false;
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Dir {
                dir: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        // A `*.yaml` that is a directory, a symlink loop or a dangling link
        // is a mistake to name, not a file to skip silently.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(Error::NotAFile { path }),
            Err(source) => return Err(Error::Read { path, source }),
        }
        if path.file_name().is_some_and(|n| n == STACK_FILE) {
            has_stack = true;
        } else {
            recipe_files.push(path);
        }
    }
    if !has_stack {
        return Err(Error::NoStack {
            dir: dir.to_path_buf(),
        });
    }
    recipe_files.sort();
    let read = |path: PathBuf| -> Result<(PathBuf, String), Error> {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        Ok((path, text))
    };
    let stack = read(dir.join(STACK_FILE))?;
    let recipes = recipe_files
        .into_iter()
        .map(read)
        .collect::<Result<Vec<_>, _>>()?;
    parse_all(dir, stack, recipes)
}

/// The pure part of [`load`]: parses and validates texts already read.
pub fn parse_all(
    dir: &Path,
    stack: (PathBuf, String),
    recipes: Vec<(PathBuf, String)>,
) -> Result<Recipes, Error> {
    let mut problems = Vec::new();
    let stack_file = stack.0.clone();
    let stack = parse_doc::<Stack>(&stack.0, &stack.1, &mut problems);
    if let Some((stack, pos)) = &stack {
        validate_stack(stack, &pos.at(&stack_file), &mut problems);
    }
    let stack_arches = stack.as_ref().map(|(s, _)| s);

    let mut loaded: Vec<Recipe> = Vec::new();
    // source name → the file that named it first, for duplicate detection.
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (file, text) in &recipes {
        let Some((recipe, pos)) = parse_doc::<Recipe>(file, text, &mut problems) else {
            continue;
        };
        let here = pos.at(file);
        validate_recipe(&recipe, file, stack_arches, &here, &mut problems);
        if let Some(first) = seen.get(&recipe.source) {
            problems.push(here.problem(
                "source",
                format!(
                    "source `{}` is already defined in {}",
                    recipe.source,
                    first.display()
                ),
            ));
        } else {
            seen.insert(recipe.source.clone(), file.clone());
        }
        loaded.push(recipe);
    }
    match stack {
        Some((stack, _)) if problems.is_empty() => {
            loaded.sort_by(|a, b| a.source.cmp(&b.source));
            Ok(Recipes {
                dir: dir.to_path_buf(),
                stack,
                recipes: loaded,
            })
        }
        _ => Err(Error::Invalid(problems)),
    }
}

/// Parses one YAML document into `T`, recording a positioned problem on
/// failure. Positions come from yaml-rust2's marked events; serde_yaml reads
/// the values and serde_path_to_error names the field.
fn parse_doc<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<(T, Positions)> {
    let positions = match Positions::of(text) {
        Ok(p) => p,
        Err(e) => {
            problems.push(Problem {
                file: file.to_path_buf(),
                line: e.marker().line(),
                column: e.marker().col() + 1,
                field: None,
                message: format!("YAML syntax error: {}", e.info()),
            });
            return None;
        }
    };
    // serde_yaml rejects these too, but without a position.
    if !positions.duplicates.is_empty() {
        for (field, (line, column), (first_line, _)) in &positions.duplicates {
            problems.push(Problem {
                file: file.to_path_buf(),
                line: *line,
                column: *column,
                field: Some(field.clone()),
                message: format!("given twice (first on line {first_line})"),
            });
        }
        return None;
    }
    // Through a Value first: its deserialisation errors carry no position
    // or path of serde_yaml's own, so the message stays clean and the
    // position comes from `positions`, the same as for semantic errors.
    let value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            let mut message = e.to_string();
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
            problems.push(Problem {
                file: file.to_path_buf(),
                line,
                column,
                field: None,
                message: format!("YAML error: {message}"),
            });
            return None;
        }
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some((v, positions)),
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = e.inner().to_string();
            let named = backticked(&message);
            // `missing field `x`` and `unknown field `x`` are raised on the
            // parent; the field itself is what the user needs to see.
            let field = match named {
                Some(name)
                    if message.starts_with("missing field")
                        || (message.starts_with("unknown field")
                            && !path.ends_with(&format!(".{name}"))
                            && path != name) =>
                {
                    join(&path, name)
                }
                _ => path.clone(),
            };
            let (line, column) = named
                .and_then(|n| positions.get(&join(&path, n)))
                .or_else(|| positions.find(&path))
                .unwrap_or((1, 1));
            problems.push(Problem {
                file: file.to_path_buf(),
                line,
                column,
                field: (!field.is_empty()).then_some(field),
                message,
            });
            None
        }
    }
}

/// The first `quoted` name in a serde message (`unknown field `foo``).
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Problems in one file, positioned by field path.
struct At<'a> {
    file: &'a Path,
    positions: &'a Positions,
}

impl At<'_> {
    fn problem(&self, field: &str, message: String) -> Problem {
        let (line, column) = self.positions.find(field).unwrap_or((1, 1));
        Problem {
            file: self.file.to_path_buf(),
            line,
            column,
            field: Some(field.to_string()),
            message,
        }
    }
}

fn validate_stack(stack: &Stack, at: &At, problems: &mut Vec<Problem>) {
    if stack.architectures.is_empty() {
        problems.push(at.problem(
            "architectures",
            "the list is empty; name at least one architecture".into(),
        ));
    }
    check_unique(&stack.architectures, "architectures", at, problems);
    for arch in stack.modes.keys() {
        if !stack.architectures.contains(arch) {
            problems.push(at.problem(
                &format!("modes.{arch}"),
                format!("architecture `{arch}` is not in `architectures`"),
            ));
        }
    }
    if stack.foreign_mode == Some(BuildMode::Native) {
        problems.push(at.problem(
            "foreign_mode",
            "`native` builds only the host's architecture; use `qemu` or `cross`".into(),
        ));
    }
    for arch in stack.runner_tags.keys() {
        if !stack.architectures.contains(arch) {
            problems.push(at.problem(
                &format!("runner_tags.{arch}"),
                format!("architecture `{arch}` is not in `architectures`"),
            ));
        }
    }
    for (i, arch) in stack.port.iter().enumerate() {
        if !stack.architectures.contains(arch) {
            problems.push(at.problem(
                &format!("port[{i}]"),
                format!("architecture `{arch}` is not in `architectures`"),
            ));
        }
    }
    validate_stack_tests(stack, at, problems);
    if let Some(size) = &stack.ccache_size
        && !is_ccache_size(size)
    {
        problems.push(at.problem(
            "ccache_size",
            format!("`{size}` is not a size (a number with an optional unit: 500M, 5G)"),
        ));
    }
    for (field, value) in [
        ("name", &stack.name),
        ("suite", &stack.suite),
        ("base_suite", &stack.base_suite),
        ("mirror", &stack.mirror),
    ] {
        if value.trim().is_empty() {
            problems.push(at.problem(field, "must not be empty".into()));
        }
    }
}

/// `tests:` of the stack file: backends for known arches (or `default`),
/// each naming a virt-server; a timeout of at least a second.
fn validate_stack_tests(stack: &Stack, at: &At, problems: &mut Vec<Problem>) {
    for (key, args) in &stack.tests.backend {
        let field = format!("tests.backend.{key}");
        let known = key == DEFAULT_BACKEND_KEY
            || Arch::new(key)
                .is_some_and(|a| stack.architectures.contains(&a) || stack.port.contains(&a));
        if !known {
            problems.push(at.problem(
                &field,
                format!("`{key}` is neither `{DEFAULT_BACKEND_KEY}` nor one of the stack's architectures"),
            ));
        }
        if args.first().is_none_or(|a| a.trim().is_empty()) {
            problems.push(at.problem(
                &field,
                "name the virt-server first (`unshare`, `podman+rocm`, `qemu`), then its arguments".into(),
            ));
        }
    }
    check_timeout(stack.tests.timeout, "tests.timeout", at, problems);
    check_test_tags(
        &stack.tests.runner_tags,
        (&stack.architectures, "the stack's"),
        at,
        problems,
    );
}

/// `tests.runner_tags`: keyed by arches of `arches` (`whose` they are),
/// each with a tag.
fn check_test_tags(
    tags: &BTreeMap<Arch, Vec<String>>,
    (arches, whose): (&[Arch], &str),
    at: &At,
    problems: &mut Vec<Problem>,
) {
    for (arch, list) in tags {
        let field = format!("tests.runner_tags.{arch}");
        if !arches.contains(arch) {
            problems.push(at.problem(
                &field,
                format!("architecture `{arch}` is not in {whose} architectures"),
            ));
        }
        if list.is_empty() || list.iter().any(|t| t.trim().is_empty()) {
            problems.push(at.problem(&field, "name at least one tag, none empty".into()));
        }
    }
}

fn check_timeout(timeout: Option<u64>, field: &str, at: &At, problems: &mut Vec<Problem>) {
    if timeout == Some(0) {
        problems.push(at.problem(field, "must be at least 1 (seconds)".into()));
    }
}

fn check_unique(arches: &[Arch], field: &str, at: &At, problems: &mut Vec<Problem>) {
    for (i, arch) in arches.iter().enumerate() {
        if arches[..i].contains(arch) {
            problems.push(at.problem(
                &format!("{field}[{i}]"),
                format!("architecture `{arch}` is listed twice"),
            ));
        }
    }
}

fn validate_recipe(
    recipe: &Recipe,
    file: &Path,
    stack: Option<&Stack>,
    at: &At,
    problems: &mut Vec<Problem>,
) {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if recipe.source != stem {
        problems.push(at.problem(
            "source",
            format!(
                "source `{}` differs from the file name; name the file `{}.yaml`",
                recipe.source, recipe.source
            ),
        ));
    }
    let tag_ok = match check_tag(&recipe.upstream.tag) {
        Ok(()) => true,
        Err(why) => {
            problems.push(at.problem("upstream.tag", why));
            false
        }
    };
    let upstream = recipe.upstream_version();
    if (tag_ok || recipe.upstream.version.is_some())
        && !upstream.starts_with(|c: char| c.is_ascii_digit())
    {
        let field = if recipe.upstream.version.is_some() {
            "upstream.version"
        } else {
            "upstream.tag"
        };
        problems.push(at.problem(
            field,
            format!(
                "upstream version `{upstream}` does not start with a digit; \
                 set `upstream.version` when the tag does not give it"
            ),
        ));
    }
    if let Err(why) = check_template(&recipe.version, recipe.native) {
        problems.push(at.problem("version", why));
    } else if let Some(v) = &recipe.upstream.version {
        // The sample checked the template; the real version must fit it too.
        let full = recipe.debian_version();
        if let Err(e) = full.parse::<debversion::Version>() {
            problems.push(at.problem(
                "upstream.version",
                format!("`{v}` gives `{full}`, not a Debian version: {e}"),
            ));
        }
    }
    if let Some(arches) = &recipe.architectures {
        if arches.is_empty() {
            problems.push(
                at.problem(
                    "architectures",
                    "the list is empty; name at least one architecture or leave the field out \
                 to use the stack's"
                        .into(),
                ),
            );
        }
        check_unique(arches, "architectures", at, problems);
        if let Some(stack) = stack {
            for (i, arch) in arches.iter().enumerate() {
                if !stack.architectures.contains(arch) {
                    problems.push(at.problem(
                        &format!("architectures[{i}]"),
                        format!("architecture `{arch}` is not in the stack's architectures"),
                    ));
                }
            }
        }
    }
    let Some(stack) = stack else { return };
    let own = recipe
        .architectures
        .as_deref()
        .unwrap_or(&stack.architectures);
    // An expected failure may also name a porting arch the recipe leaves out:
    // porting runs build it there anyway.
    for arch in recipe.expected_failures.keys() {
        if !own.contains(arch) && !stack.port.contains(arch) {
            problems.push(at.problem(
                &format!("expected_failures.{arch}"),
                format!(
                    "architecture `{arch}` is neither built by this recipe nor a porting target"
                ),
            ));
        }
    }
    validate_recipe_tests(recipe, own, stack, at, problems);
    // Port settings are for architectures the recipe may leave out, so only
    // the stack's list bounds them.
    for arch in recipe.port.keys() {
        if !stack.architectures.contains(arch) {
            problems.push(at.problem(
                &format!("port.{arch}"),
                format!("architecture `{arch}` is not in the stack's architectures"),
            ));
        }
    }
}

/// `tests:` of a recipe: expected failures name a test and arches the
/// recipe is built on (or a porting target); a timeout of at least a second.
fn validate_recipe_tests(
    recipe: &Recipe,
    own: &[Arch],
    stack: &Stack,
    at: &At,
    problems: &mut Vec<Problem>,
) {
    check_timeout(recipe.tests.timeout, "tests.timeout", at, problems);
    check_test_tags(
        &recipe.tests.runner_tags,
        (own, "this recipe's"),
        at,
        problems,
    );
    for (i, e) in recipe.tests.expected_failures.iter().enumerate() {
        let field = format!("tests.expected_failures[{i}]");
        if e.test.trim().is_empty() {
            problems.push(at.problem(&format!("{field}.test"), "must not be empty".into()));
        }
        if e.reason.trim().is_empty() {
            problems.push(at.problem(&format!("{field}.reason"), "must not be empty".into()));
        }
        for (j, arch) in e.arches.iter().enumerate() {
            if !own.contains(arch) && !stack.port.contains(arch) {
                problems.push(at.problem(
                    &format!("{field}.arches[{j}]"),
                    format!(
                        "architecture `{arch}` is neither built by this recipe nor a porting target"
                    ),
                ));
            }
        }
    }
}

/// Checks a tag name against git's rules for ref names (`git check-ref-format`),
/// each rule with its own message. Hand-written rather than asking libgit2
/// (`Reference::is_valid_name`): its first call initialises libgit2, which
/// loads OpenSSL's certificate store, 50 ms of every `cascade plan`. A test
/// checks that libgit2 answers the same.
fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag is empty".into());
    }
    if let Some(c) = tag.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "tag `{tag}` contains {:?}; git forbids spaces and control characters in tags",
            c
        ));
    }
    if let Some(c) = tag.chars().find(|c| "~^:?*[\\".contains(*c)) {
        return Err(format!(
            "tag `{tag}` contains `{c}`, which git forbids in tags"
        ));
    }
    for bad in ["..", "@{", "//"] {
        if tag.contains(bad) {
            return Err(format!(
                "tag `{tag}` contains `{bad}`, which git forbids in tags"
            ));
        }
    }
    if tag.ends_with(".lock") || tag.ends_with('/') || tag.ends_with('.') {
        return Err(format!(
            "tag `{tag}` ends with `.lock`, `/` or `.`, which git forbids"
        ));
    }
    if tag.split('/').any(|c| c.ends_with(".lock")) {
        return Err(format!(
            "tag `{tag}` has a component ending with `.lock`, which git forbids"
        ));
    }
    if tag.starts_with('/') || tag.split('/').any(|c| c.starts_with('.')) {
        return Err(format!(
            "tag `{tag}` has a component starting with `.` or `/`, which git forbids"
        ));
    }
    Ok(())
}

/// Checks a version template: `{upstream}` exactly once, and a valid Debian
/// version (with a revision unless the package is native) once a sample
/// upstream version is filled in.
fn check_template(template: &str, native: bool) -> Result<(), String> {
    let count = template.matches("{upstream}").count();
    if count != 1 {
        return Err(format!(
            "version template `{template}` must contain `{{upstream}}` exactly once, \
             found {count}"
        ));
    }
    let version = template.replace("{upstream}", SAMPLE_UPSTREAM);
    if version.contains(['{', '}']) {
        return Err(format!(
            "version template `{template}` has a placeholder other than `{{upstream}}`"
        ));
    }
    if let Some((epoch, _)) = version.split_once(':')
        && (epoch.is_empty() || !epoch.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!(
            "version template `{template}` has epoch `{epoch}`; an epoch is a number (`1:`)"
        ));
    }
    let parsed: debversion::Version = version.parse().map_err(|e: debversion::ParseError| {
        format!(
            "version template `{template}` gives `{version}` for upstream {SAMPLE_UPSTREAM}, \
             not a Debian version: {e}"
        )
    })?;
    if !parsed
        .upstream_version
        .starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!(
            "version template `{template}` gives `{version}`, whose upstream part does not \
             start with a digit"
        ));
    }
    match (&parsed.debian_revision, native) {
        (None, false) => Err(format!(
            "version template `{template}` has no Debian revision (e.g. `{{upstream}}-1~exp1`); \
             set `native: true` for a native package"
        )),
        (Some(rev), true) => Err(format!(
            "version template `{template}` has a Debian revision `-{rev}` but the package is \
             native"
        )),
        _ => Ok(()),
    }
}

/// Where each key and sequence item of a YAML document sits, by field path
/// in serde_path_to_error's spelling (`upstream.tag`, `architectures[1]`).
/// A key given twice in one mapping: its path, where, and where first.
type Duplicate = (String, (usize, usize), (usize, usize));

#[derive(Debug, Default)]
struct Positions {
    map: BTreeMap<String, (usize, usize)>,
    duplicates: Vec<Duplicate>,
}

impl Positions {
    fn of(text: &str) -> Result<Positions, yaml_rust2::ScanError> {
        let mut builder = PositionBuilder::default();
        yaml_rust2::parser::Parser::new_from_str(text).load(&mut builder, false)?;
        Ok(Positions {
            map: builder.map,
            duplicates: builder.duplicates,
        })
    }

    fn at<'a>(&'a self, file: &'a Path) -> At<'a> {
        At {
            file,
            positions: self,
        }
    }

    fn get(&self, path: &str) -> Option<(usize, usize)> {
        self.map.get(path).copied()
    }

    /// The position of `path`, else of its nearest ancestor that has one.
    fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut path = path;
        loop {
            if let Some(p) = self.get(path) {
                return Some(p);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

#[derive(Debug)]
enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Debug, Default)]
struct PositionBuilder {
    stack: Vec<Frame>,
    map: BTreeMap<String, (usize, usize)>,
    duplicates: Vec<Duplicate>,
}

impl yaml_rust2::parser::MarkedEventReceiver for PositionBuilder {
    fn on_event(&mut self, ev: yaml_rust2::Event, mark: yaml_rust2::scanner::Marker) {
        use yaml_rust2::Event;
        let pos = (mark.line(), mark.col() + 1);
        let is_node = matches!(
            ev,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
        );
        // The path of this node when it is a value; None when it is a key
        // (recorded here) or outside any container (the document root).
        let mut value_path = None;
        if is_node {
            match self.stack.last_mut() {
                Some(Frame::Map { path, key }) => match key.take() {
                    None => {
                        let name = match &ev {
                            Event::Scalar(s, ..) => s.clone(),
                            _ => "?".to_string(),
                        };
                        let full = join(path, &name);
                        match self.map.get(&full) {
                            Some(first) if name != "?" => self.duplicates.push((full, pos, *first)),
                            Some(_) => {}
                            None => {
                                self.map.insert(full, pos);
                            }
                        }
                        *key = Some(name);
                        if matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..)) {
                            // A complex key: track its insides under `?`.
                            value_path = Some(join(path, "?"));
                        }
                    }
                    Some(name) => value_path = Some(join(path, &name)),
                },
                Some(Frame::Seq { path, next }) => {
                    let full = format!("{path}[{next}]");
                    *next += 1;
                    self.map.entry(full.clone()).or_insert(pos);
                    value_path = Some(full);
                }
                None => value_path = Some(String::new()),
            }
        }
        match ev {
            Event::MappingStart(..) => self.stack.push(Frame::Map {
                path: value_path.unwrap_or_default(),
                key: None,
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq {
                path: value_path.unwrap_or_default(),
                next: 0,
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "\
name: test
suite: experimental
base_suite: unstable
mirror: http://deb.debian.org/debian
architectures: [amd64, arm64, riscv64]
modes:
  arm64: cross
port: [riscv64]
";

    const GOOD: &str = "\
source: rocblas
packaging:
  repo: https://salsa.debian.org/rocm-team/rocblas.git
  branch: debian/experimental
upstream:
  repo: https://github.com/ROCm/rocm-libraries
  tag: rocm-7.2.4
version: \"{upstream}-1~exp1\"
";

    fn load_texts(stack: &str, recipes: &[(&str, &str)]) -> Result<Recipes, Error> {
        parse_all(
            Path::new("r"),
            (PathBuf::from("r/stack.yaml"), stack.to_string()),
            recipes
                .iter()
                .map(|(name, text)| (PathBuf::from(format!("r/{name}")), text.to_string()))
                .collect(),
        )
    }

    fn problems(stack: &str, recipes: &[(&str, &str)]) -> Vec<String> {
        match load_texts(stack, recipes) {
            Ok(_) => panic!("expected problems"),
            Err(Error::Invalid(ps)) => ps.iter().map(|p| p.to_string()).collect(),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    fn one_problem(stack: &str, recipes: &[(&str, &str)]) -> String {
        let ps = problems(stack, recipes);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        ps.into_iter().next().unwrap()
    }

    #[test]
    fn a_good_stack_loads_with_helpers() {
        let r = load_texts(STACK, &[("rocblas.yaml", GOOD)]).unwrap();
        let rocblas = r.get("rocblas").unwrap();
        assert!(r.get("nope").is_none());
        assert_eq!(rocblas.upstream_version(), "7.2.4");
        assert_eq!(rocblas.debian_version(), "7.2.4-1~exp1");
        assert_eq!(r.arches_for(rocblas).len(), 3);
        let arm64 = Arch::new("arm64").unwrap();
        let riscv64 = Arch::new("riscv64").unwrap();
        assert_eq!(r.stack.mode_for(&arm64), BuildMode::Cross);
        assert_eq!(r.stack.mode_for(&Arch::host()), BuildMode::Native);
        if Arch::host() != riscv64 {
            assert_eq!(r.stack.mode_for(&riscv64), BuildMode::Qemu);
        }
    }

    #[test]
    fn foreign_arches_follow_foreign_mode_and_recipes_may_refuse_cross() {
        let stack = STACK.replace("modes:\n", "foreign_mode: cross\nmodes:\n");
        let recipes = load_texts(&stack, &[("rocblas.yaml", GOOD)]).unwrap();
        let riscv64 = Arch::new("riscv64").unwrap();
        if Arch::host() != riscv64 {
            assert_eq!(recipes.stack.mode_for(&riscv64), BuildMode::Cross);
            // rocblas's recipe does not say `cross: false`.
            let mode = recipes.stack.mode_for(&riscv64);
            assert_eq!(recipes.mode_of("rocblas", mode), BuildMode::Cross);
        }
        let refuses = format!("{GOOD}cross: false\n");
        let recipes = load_texts(&stack, &[("rocblas.yaml", &refuses)]).unwrap();
        let arm64 = Arch::new("arm64").unwrap();
        let mode = recipes.stack.mode_for(&arm64);
        assert_eq!(recipes.mode_of("rocblas", mode), BuildMode::Qemu);
        // A `--mode arm64=native` of the run.
        assert_eq!(
            recipes.mode_of("rocblas", BuildMode::Native),
            BuildMode::Native
        );

        let bad = STACK.replace("modes:\n", "foreign_mode: native\nmodes:\n");
        let p = one_problem(&bad, &[("rocblas.yaml", GOOD)]);
        assert!(p.starts_with("r/stack.yaml:"), "{p}");
        assert!(p.contains("field `foreign_mode`"), "{p}");
    }

    #[test]
    fn ccache_size_is_checked_with_its_line() {
        let r = load_texts(&format!("{STACK}ccache_size: 1.5G\n"), &[]).unwrap();
        assert_eq!(r.stack.ccache_size.as_deref(), Some("1.5G"));
        let p = one_problem(&format!("{STACK}ccache_size: lots\n"), &[]);
        assert!(
            p.starts_with("r/stack.yaml:9:1: field `ccache_size`: `lots` is not a size"),
            "{p}"
        );
        for ok in ["0", "500M", "5G", "2Gi", "10"] {
            assert!(is_ccache_size(ok), "{ok}");
        }
        for bad in ["", "G", "5 G", "5X", "-1G"] {
            assert!(!is_ccache_size(bad), "{bad}");
        }
    }

    #[test]
    fn upstream_version_from_tag_or_override() {
        let mut r: Recipe = serde_yaml::from_str(GOOD).unwrap();
        r.upstream.tag = "v1.2".into();
        assert_eq!(r.upstream_version(), "1.2");
        r.upstream.version = Some("10.1".into());
        r.version = "1:{upstream}+dfsg-1~exp1".into();
        assert_eq!(r.debian_version(), "1:10.1+dfsg-1~exp1");
    }

    #[test]
    fn unknown_field_names_file_line_column_and_field() {
        let bad = GOOD.replace("  tag: rocm-7.2.4", "  tag: rocm-7.2.4\n  tga: x");
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert!(
            p.starts_with("r/rocblas.yaml:8:3: field `upstream.tga`: unknown field `tga`"),
            "{p}"
        );
    }

    #[test]
    fn wrong_type_and_missing_field() {
        let bad = GOOD.replace("tag: rocm-7.2.4", "tag: [a]");
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert!(
            p.starts_with("r/rocblas.yaml:7:3: field `upstream.tag`: invalid type"),
            "{p}"
        );
        let bad = GOOD.replace("  tag: rocm-7.2.4\n", "");
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert!(
            p.starts_with("r/rocblas.yaml:5:1: field `upstream.tag`: missing field `tag`"),
            "{p}"
        );
    }

    #[test]
    fn yaml_syntax_error_has_a_position() {
        let p = one_problem(STACK, &[("rocblas.yaml", "source: [rocblas\nversion: x\n")]);
        assert!(p.starts_with("r/rocblas.yaml:"), "{p}");
        assert!(p.contains("YAML syntax error"), "{p}");
    }

    #[test]
    fn unknown_architecture_in_a_list_and_as_a_key() {
        let bad = format!("{GOOD}architectures: [amd64, riscv]\n");
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert!(
            p.starts_with(
                "r/rocblas.yaml:9:24: field `architectures[1]`: unknown architecture `riscv`"
            ),
            "{p}"
        );
        let bad = STACK.replace("  arm64: cross", "  arm: cross");
        let p = one_problem(&bad, &[]);
        assert!(p.starts_with("r/stack.yaml:7:3: field `modes"), "{p}");
        assert!(p.contains("unknown architecture `arm`"), "{p}");
    }

    #[test]
    fn duplicate_source_names_both_files() {
        let ps = problems(STACK, &[("rocblas.yaml", GOOD), ("zzz.yaml", GOOD)]);
        assert!(ps.iter().any(|p| p.starts_with("r/zzz.yaml:1:1: field `source`: source `rocblas` is already defined in r/rocblas.yaml")), "{ps:#?}");
    }

    #[test]
    fn source_must_match_the_file_name() {
        let p = one_problem(STACK, &[("rocsparse.yaml", GOOD)]);
        assert!(
            p.starts_with("r/rocsparse.yaml:1:1: field `source`: source `rocblas` differs"),
            "{p}"
        );
    }

    #[test]
    fn malformed_tags() {
        for tag in [
            "\"\"",
            "\"rocm 7.2.4\"",
            "rocm..7",
            "rocm~7",
            "rocm^7",
            "\"rocm:7\"",
            "rocm?7",
            "\"rocm*7\"",
            "\"rocm[7\"",
            "rocm\\\\7",
            "rocm-7.lock",
            "rocm-7/",
        ] {
            let bad = GOOD.replace("tag: rocm-7.2.4", &format!("tag: {tag}"));
            let ps = problems(STACK, &[("rocblas.yaml", &bad)]);
            assert!(
                ps.iter()
                    .any(|p| p.starts_with("r/rocblas.yaml:7:3: field `upstream.tag`: ")),
                "{tag}: {ps:#?}"
            );
        }
        assert!(check_tag("rocm-7.2.4").is_ok());
        assert!(check_tag("debian/0.9.9_exp2").is_ok());
    }

    #[test]
    fn tag_check_answers_like_libgit2() {
        for tag in [
            "rocm-7.2.4",
            "debian/0.9.9_exp2",
            "a.lock/b",
            "a/b.lock",
            "a..b",
            "a@{b",
            "@",
            "a/@",
            "a//b",
            "/a",
            "a/",
            "a.",
            ".a",
            "a/.b",
            "a b",
            "a\tb",
            "a~b",
            "a^b",
            "a:b",
            "a?b",
            "a*b",
            "a[b",
            "a\\b",
            "a\u{7f}b",
            "é",
            "a/b/c",
            "a-",
            "-a",
            "a.b.lock.c",
            "",
            "a@b",
            "a{b",
            "a}b",
            "a.lo/ck",
        ] {
            assert_eq!(
                check_tag(tag).is_ok(),
                git2::Reference::is_valid_name(&format!("refs/tags/{tag}")),
                "{tag:?}"
            );
        }
    }

    #[test]
    fn malformed_templates() {
        for (template, why) in [
            ("7.2.4-1", "exactly once"),
            ("{upstream}-{upstream}", "exactly once"),
            ("{upstream}", "no Debian revision"),
            ("{upstream}-1~exp1{x}", "placeholder"),
            ("{upstream} -1", "not a Debian version"),
            ("x:{upstream}-1", "an epoch is a number"),
            ("v{upstream}-1", "does not start with a digit"),
        ] {
            let bad = GOOD.replace("{upstream}-1~exp1", template);
            let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
            assert!(
                p.starts_with("r/rocblas.yaml:8:1: field `version`: "),
                "{p}"
            );
            assert!(p.contains(why), "{template}: {p}");
        }
        assert!(check_template("1:{upstream}+dfsg-1~exp1", false).is_ok());
        assert!(check_template("{upstream}", true).is_ok());
        assert!(check_template("{upstream}-1", true).is_err());
    }

    #[test]
    fn upstream_version_override_must_fit_the_template() {
        let bad = GOOD.replace(
            "  tag: rocm-7.2.4",
            "  tag: rocm-7.2.4\n  version: \"7.2 4\"",
        );
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert!(
            p.starts_with("r/rocblas.yaml:8:3: field `upstream.version`: "),
            "{p}"
        );
    }

    #[test]
    fn arches_must_be_known_to_the_recipe_or_stack() {
        let bad = format!(
            "{GOOD}architectures: [amd64]\nexpected_failures:\n  arm64: {{reason: x}}\n  riscv64: {{reason: porting}}\nport:\n  ppc64el: {{}}\n"
        );
        let ps = problems(STACK, &[("rocblas.yaml", &bad)]);
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(
            ps[0].starts_with("r/rocblas.yaml:11:3: field `expected_failures.arm64`"),
            "{ps:#?}"
        );
        assert!(
            ps[1].starts_with("r/rocblas.yaml:14:3: field `port.ppc64el`"),
            "{ps:#?}"
        );
    }

    #[test]
    fn stack_keys_must_be_in_its_architectures() {
        let bad = STACK.replace("  arm64: cross", "  arm64: cross\n  ppc64el: qemu")
            + "runner_tags:\n  s390x: [big]\n";
        let ps = problems(&bad, &[]);
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(
            ps[0].starts_with("r/stack.yaml:8:3: field `modes.ppc64el`"),
            "{ps:#?}"
        );
        assert!(
            ps[1].starts_with("r/stack.yaml:11:3: field `runner_tags.s390x`"),
            "{ps:#?}"
        );
    }

    #[test]
    fn empty_architectures() {
        let bad = STACK.replace("[amd64, arm64, riscv64]", "[]");
        let ps = problems(&bad, &[]);
        assert!(
            ps[0].starts_with("r/stack.yaml:5:1: field `architectures`: the list is empty"),
            "{ps:#?}"
        );
        let bad = format!("{GOOD}architectures: []\n");
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert!(
            p.starts_with("r/rocblas.yaml:9:1: field `architectures`: the list is empty"),
            "{p}"
        );
    }

    #[test]
    fn all_problems_are_reported() {
        let bad_tag = GOOD.replace("tag: rocm-7.2.4", "tag: a..b");
        let bad_ver = GOOD.replace("rocblas", "hipblas").replace("-1~exp1", "");
        let ps = problems(
            STACK,
            &[("hipblas.yaml", &bad_ver), ("rocblas.yaml", &bad_tag)],
        );
        assert_eq!(ps.len(), 2, "{ps:#?}");
        let msg = Error::Invalid(vec![]).to_string();
        assert!(msg.contains("0 problems"));
    }

    #[test]
    fn duplicate_keys_are_positioned() {
        let bad = GOOD.replace("  branch: debian/experimental", "  branch: a\n  branch: b");
        let p = one_problem(STACK, &[("rocblas.yaml", &bad)]);
        assert_eq!(
            p,
            "r/rocblas.yaml:5:3: field `packaging.branch`: given twice (first on line 4)"
        );
    }

    #[test]
    fn test_settings_load_with_backends_timeouts_and_expected_failures() {
        let stack = format!(
            "{STACK}tests:\n  backend:\n    default: [unshare]\n    amd64: [podman+rocm, rocm]\n  timeout: 600\n  lintian:\n    fail_on: error\n"
        );
        let recipe = format!(
            "{GOOD}tests:\n  timeout: 60\n  expected_failures:\n    - test: gpu\n      arches: [riscv64]\n      reason: no GPU\n      link: https://bugs.debian.org/1\n"
        );
        let r = load_texts(&stack, &[("rocblas.yaml", &recipe)]).unwrap();
        let amd64 = Arch::new("amd64").unwrap();
        let riscv64 = Arch::new("riscv64").unwrap();
        let arm64 = Arch::new("arm64").unwrap();
        assert_eq!(
            r.stack.test_backend(&amd64).unwrap(),
            ["podman+rocm".to_string(), "rocm".into()]
        );
        assert_eq!(r.stack.test_backend(&arm64).unwrap(), ["unshare"]);
        assert_eq!(r.stack.tests.lintian.fail_on, LintianFailOn::Error);
        let rocblas = r.get("rocblas").unwrap();
        assert_eq!(rocblas.test_timeout(&r.stack), Some(60));
        assert_eq!(
            rocblas
                .expected_test_failure("gpu", &riscv64)
                .unwrap()
                .reason,
            "no GPU"
        );
        assert!(rocblas.expected_test_failure("gpu", &amd64).is_none());
        assert!(rocblas.expected_test_failure("other", &riscv64).is_none());
        // Without `tests:` nothing changes: no backend, lintian reports only.
        let plain = load_texts(STACK, &[("rocblas.yaml", GOOD)]).unwrap();
        assert!(plain.stack.test_backend(&amd64).is_none());
        assert_eq!(plain.stack.tests.lintian.fail_on, LintianFailOn::Never);
        assert_eq!(
            plain.get("rocblas").unwrap().test_timeout(&plain.stack),
            None
        );
    }

    #[test]
    fn bad_test_settings_name_file_line_and_field() {
        let stack =
            format!("{STACK}tests:\n  backend:\n    s390x: [qemu]\n    amd64: []\n  timeout: 0\n");
        let ps = problems(&stack, &[]);
        assert_eq!(
            ps,
            [
                "r/stack.yaml:12:5: field `tests.backend.amd64`: name the virt-server first (`unshare`, `podman+rocm`, `qemu`), then its arguments",
                "r/stack.yaml:11:5: field `tests.backend.s390x`: `s390x` is neither `default` nor one of the stack's architectures",
                "r/stack.yaml:13:3: field `tests.timeout`: must be at least 1 (seconds)",
            ],
        );
        let recipe = format!(
            "{GOOD}tests:\n  expected_failures:\n    - test: gpu\n      arches: [amd64, s390x]\n      reason: \"\"\n"
        );
        let ps = problems(STACK, &[("rocblas.yaml", &recipe)]);
        assert_eq!(
            ps,
            [
                "r/rocblas.yaml:13:7: field `tests.expected_failures[0].reason`: must not be empty",
                "r/rocblas.yaml:12:23: field `tests.expected_failures[0].arches[1]`: architecture `s390x` is neither built by this recipe nor a porting target",
            ],
        );
        let unknown = format!("{GOOD}tests:\n  skip: true\n  retries: 2\n");
        let p = one_problem(STACK, &[("rocblas.yaml", &unknown)]);
        assert!(
            p.starts_with("r/rocblas.yaml:11:3: field `tests.retries`: unknown field"),
            "{p}"
        );
    }

    /// `tests.runner_tags` (CI test jobs' runners) of the stack and of a
    /// recipe: read, checked like `runner_tags`, and left out of the
    /// serialised settings (the tests' input hash).
    #[test]
    fn test_runner_tags_load_and_are_checked() {
        let stack = format!("{STACK}tests:\n  runner_tags:\n    amd64: [gpu, rocm]\n");
        let recipe = format!("{GOOD}tests:\n  runner_tags:\n    riscv64: [big-riscv]\n");
        let r = load_texts(&stack, &[("rocblas.yaml", &recipe)]).unwrap();
        let amd64 = Arch::new("amd64").unwrap();
        assert_eq!(r.stack.tests.runner_tags[&amd64], ["gpu", "rocm"]);
        let rocblas = &r.get("rocblas").unwrap().tests;
        assert_eq!(
            rocblas.runner_tags[&Arch::new("riscv64").unwrap()],
            ["big-riscv"]
        );
        let json = serde_json::to_string(&(&r.stack.tests, rocblas)).unwrap();
        assert!(!json.contains("runner_tags"), "{json}");

        let bad = format!("{STACK}tests:\n  runner_tags:\n    arm64: []\n    s390x: [big]\n");
        assert_eq!(
            problems(&bad, &[]),
            [
                "r/stack.yaml:11:5: field `tests.runner_tags.arm64`: name at least one tag, none empty",
                "r/stack.yaml:12:5: field `tests.runner_tags.s390x`: architecture `s390x` is not in the stack's architectures",
            ],
        );
        let bad =
            format!("{GOOD}architectures: [amd64]\ntests:\n  runner_tags:\n    riscv64: [x]\n");
        assert_eq!(
            one_problem(STACK, &[("rocblas.yaml", &bad)]),
            "r/rocblas.yaml:12:5: field `tests.runner_tags.riscv64`: architecture `riscv64` is not in this recipe's architectures",
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let err = load(Path::new("/nonexistent/recipes")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/recipes"));
    }
}
