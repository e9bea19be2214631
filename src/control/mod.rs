//! `control`: the build relations of one source package, evaluated for one
//! architecture and a set of build profiles.
//!
//! - [`wildcard`]: dpkg's architecture tuples and wildcard matching (`linux-any`, `any-amd64`).
//! - [`relation`]: relations (`a (>= 1) [amd64] <!nocheck> | b:native`), restrictions, profiles.
//! - [`source`]: [`SourceInfo`], read from `debian/control` or a Sources paragraph.
//! - [`deb822`]: a fast, borrowing deb822 paragraph splitter with line numbers.
//!
//! Nothing here does I/O except [`SourceInfo::from_control_file`], which reads one file.
//!
//! # For a consumer (the planner)
//!
//! - [`SourceInfo::builds_on`]`(arch)`: does the source's `Architecture:` field
//!   give it arch-dependent packages on `arch`? ([`SourceInfo::builds_indep`] for `all`.)
//! - [`SourceInfo::binaries_on`]`(arch)`: what it builds there (arch:all included).
//! - [`SourceInfo::build_deps`]`(arch, profiles, include_arch, include_indep)`:
//!   `Vec<Vec<Dep>>`, an AND of OR-groups with restrictions applied. Take the
//!   first alternative you can satisfy. [`Dep::archqual`] keeps `:native` /
//!   `:any` / `:ARCH`: for a native build all three name the build arch's
//!   package (`:any` additionally needs `Multi-Arch: allowed`, which cascade
//!   does not check); for a cross build `:native` means the build machine's arch.
//! - [`Profiles::none`] is the default; [`Profiles::new`]`(["nocheck"])` for `--profiles`.
//!
//! ```
//! use cascade::arch::Arch;
//! use cascade::control::{Profiles, SourceInfo};
//!
//! let control = "Source: foo\nBuild-Depends: cmake, hipcc [amd64] <!nocheck> | clang\n\n\
//!                Package: libfoo1\nArchitecture: linux-any\n";
//! let src = SourceInfo::from_control_str(control, "foo/debian/control").unwrap();
//! let riscv64 = Arch::new("riscv64").unwrap();
//! assert!(src.builds_on(&riscv64));
//! let deps = src.build_deps(&riscv64, &Profiles::none(), true, false);
//! assert_eq!(deps[1][0].name, "clang"); // hipcc is amd64-only
//! ```

pub mod deb822;
pub mod error;
pub mod relation;
pub mod source;
pub mod wildcard;

pub use error::Error;
pub use relation::{ArchTerm, Dep, Op, ProfileTerm, Profiles, Relation, parse_relations};
pub use source::{BinaryInfo, SourceInfo};
pub use wildcard::{arch_list_matches, arch_matches};
