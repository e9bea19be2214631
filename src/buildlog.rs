//! `buildlog`: see the map in `lib.rs`. (Skeleton — filled in by its owner.)
